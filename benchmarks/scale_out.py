"""1 vs N processes under torchrun: the package's distill stage (teacher cache, then DDP training) timed per part.

Each count runs ``torchrun --standalone --nproc_per_node N benchmarks/scale_out.py --child ...``; every rank calls
``compress.distill.stage.distill`` (the stage ``compress run`` runs) on the default recipe with a small sample,
each count
with an empty cache of its own, and rank 0 records the teacher pass, the training time and the student's STS-B dev.
torchrun gives each of N > 1 processes one thread (OMP_NUM_THREADS=1); one process uses every core. On a machine
whose processes share the same cores, expect no gain: this measures the overhead of the distributed path, and
that the student is as good. On GPUs or several machines each rank brings its own device.

Reproduce (repo root, after scripts/setup.sh; ~10 min on 2 cores):
    .venv/bin/python benchmarks/scale_out.py --data ../shared/data --procs 1 2 --sentences 2000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.io import write_json_atomic
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)


def child(args: argparse.Namespace) -> None:
    from compress import dist
    from compress.config import load_config
    from compress.distill.stage import distill

    here = dist.start()
    data = args.data
    config = load_config(None, [f"data.max_sentences={args.sentences}", "data.validation_sentences=200",
                                f"data.corpus={data}/corpus/sentences.txt.gz", f"data.sts_dev={data}/stsb/dev.csv",
                                f"data.sts_train={data}/stsb/train.csv", f"data.sts_test={data}/stsb/test.csv",
                                "train.epochs=1", f"output.cache_dir={args.work}/cache", "output.progress=false"])
    start = time.perf_counter()
    result = distill(config, args.work / "student")
    if here.main:
        report = result.report
        write_json_atomic(args.work / "timing.json", {
            "teacher_seconds": round(report["timing"]["teacher_embedding_seconds"], 1),
            "train_seconds": round(report["training"]["seconds"], 1),
            "steps": report["training"]["steps"], "wall_seconds": round(time.perf_counter() - start, 1),
            "rank0_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "sts_dev": round(report["sts_spearman"]["student"]["sts_dev"], 2),
            "held_back_cosine": round(report["validation"]["cosine"], 4)})


def run(procs: int, args: argparse.Namespace) -> dict[str, Any]:
    work = args.work / f"procs-{procs}"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs),
               __file__, "--child", "--data", str(args.data), "--sentences", str(args.sentences),
               "--work", str(work)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-4000:])
    row = {"procs": procs, **json.loads((work / "timing.json").read_text()),
           "launch_seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(row), file=sys.stderr)
    return row


def render(doc: dict[str, Any]) -> str:
    lines = ["# Scale out: 1 vs N processes under torchrun", "", f"Command: `{doc['command']}`", "",
             f"Machine: {machine_line(doc['machine'])}", "",
             f"The package's distill stage on the default recipe, {doc['sentences']:,} corpus sentences, 1 epoch, "
             "an empty cache for each count. Teacher: all-mpnet-base-v2's pass over the sample (each rank its "
             "chunks); training: DDP, `train.batch_size` per process. One process uses both cores; torchrun gives "
             "each of 2 processes one thread.", "",
             "| processes | teacher s | training s | steps | distill wall s | torchrun wall s | STS-B dev | "
             "held-back cos | rank 0 peak MB |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["rows"]:
        lines.append(f"| {r['procs']} | {r['teacher_seconds']} | {r['train_seconds']} | {r['steps']} | "
                     f"{r['wall_seconds']} | {r['launch_seconds']} | {r['sts_dev']} | {r['held_back_cosine']} | "
                     f"{r['rank0_peak_rss_mb']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=Path("runs/scale-out"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data, args.work = args.data.resolve(), args.work.resolve()
    if args.child:
        child(args)
        return
    rows = [run(n, args) for n in args.procs]
    doc = {"command": command_line(__file__), "machine": machine_info(),
           "sentences": args.sentences, "rows": rows}
    write_results(RESULTS, "scale_out", doc, render(doc))


if __name__ == "__main__":
    main()
