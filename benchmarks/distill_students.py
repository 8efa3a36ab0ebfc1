"""Distill the real all-mpnet-base-v2 into several students and record STS-B scores, retention and cost.

Reproduce (from the repo root, after scripts/setup.sh):
    .venv/bin/python benchmarks/distill_students.py --data ../shared/data --sentences 10000

Writes benchmarks/results/distill_students.{json,md}. Every student sees the same corpus sample and the same
cached teacher embeddings; settings were chosen without looking at STS-B test (it is only reported).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.config import load_config
from compress.distill.stage import distill

RESULTS = results_dir(__file__)

STUDENTS: dict[str, list[str]] = {
    "pruned-4": ["student.kind='pruned'", "student.num_layers=4", "train.learning_rate=1e-4"],
    "pruned-6": ["student.kind='pruned'", "student.num_layers=6", "train.learning_rate=1e-4"],
    "minilm-l6-projection": ["student.kind='pretrained'", "student.model='all-MiniLM-L6-v2'",
                             "student.match='projection'", "train.learning_rate=2e-5"],
}


def run(name: str, overrides: list[str], base: list[str], out: Path) -> dict[str, object]:
    config = load_config(None, base + overrides)
    start = time.perf_counter()
    result = distill(config, out / name)
    report = result.report
    scores = report["sts_spearman"]
    return {"student": name, "overrides": overrides, "description": report["student"]["description"],
            "parameters": report["student"]["parameters"], "layers": report["student"]["layers"],
            "dim": report["student"]["dim"],
            "sts_dev": scores["student"].get("sts_dev"), "sts_test": scores["student"].get("sts_test"),
            "teacher_sts_dev": scores["teacher"].get("sts_dev"), "teacher_sts_test": scores["teacher"].get("sts_test"),
            "retention_test_percent": scores["retention_percent"].get("sts_test"),
            "heldback_cosine": report["validation"].get("cosine"),
            "train_sentences": report["training"]["sentences"], "epochs": report["training"]["epochs"],
            "train_seconds": report["training"]["seconds"],
            "train_sentences_per_second": report["training"]["sentences_per_second"],
            "teacher_embedding_seconds": report["timing"]["teacher_embedding_seconds"],
            "wall_seconds": time.perf_counter() - start}


def markdown(rows: list[dict[str, object]], command: str) -> str:
    lines = ["# Distillation benchmark: all-mpnet-base-v2 -> students", "",
             f"Command: `{command}`", "",
             "| student | layers | dim | params | STS-B dev | STS-B test | retention (test) | held-back cos | "
             "train sents | train s | sents/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['student']} | {r['layers']} | {r['dim']} | {int(r['parameters']) / 1e6:.1f}M | "  # type: ignore[call-overload]
                     f"{r['sts_dev']:.2f} | {r['sts_test']:.2f} | {r['retention_test_percent']:.1f}% | "
                     f"{r['heldback_cosine']:.4f} | {r['train_sentences']} | {r['train_seconds']:.0f} | "
                     f"{r['train_sentences_per_second']:.1f} |")
    if rows:
        lines += ["", f"Teacher all-mpnet-base-v2: STS-B dev {rows[0]['teacher_sts_dev']:.2f}, "
                      f"test {rows[0]['teacher_sts_test']:.2f}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--sentences", type=int, default=10000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--students", nargs="*", default=list(STUDENTS))
    parser.add_argument("--work", default="runs/bench-distill")
    args = parser.parse_args()
    data = args.data
    base = [f"data.corpus='{data}/corpus/sentences.txt.gz'", f"data.sts_dev='{data}/stsb/dev.csv'",
            f"data.sts_test='{data}/stsb/test.csv'", f"data.sts_train='{data}/stsb/train.csv'",
            f"data.max_sentences={args.sentences + 500}", "data.validation_sentences=500",
            f"train.epochs={args.epochs}", "train.eval_steps=100", "output.progress=false"]
    out = Path(args.work)
    command = command_line(__file__)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    rows = []
    for name in args.students:  # results are written after each student, so a long run keeps what it finished
        rows.append(run(name, STUDENTS[name], base, out))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        doc = {"command": command, "machine": machine, "results": rows}
        write_results(RESULTS, "distill_students", doc, markdown(rows, command))


if __name__ == "__main__":
    main()
