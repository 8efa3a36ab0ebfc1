"""Peers benchmark: our default and fast students beside the teacher, all-MiniLM-L6-v2 and a Model2Vec model.

Every model runs through the same harness as ``compress bench`` (one subprocess per model, x86-server profile:
all cores, the int8 file for this CPU; the small models also on edge-1core: one thread), in one run, so the ratios
compare like with like:

- all-mpnet-base-v2 (teacher): PyTorch, and int8 ONNX from sentence-transformers' own export (run by its ONNX
  backend, as its users would);
- all-MiniLM-L6-v2: PyTorch, int8 ONNX from sentence-transformers' export (its backend), and our int8 export of it
  run by our runtime (onnxruntime + tokenizers, the runtime our students are measured with);
- Model2Vec distilled offline from the teacher by the ``model2vec`` package (no fine-tuning), run by model2vec;
- our default and fast releases (``compress run`` output folders): fp32 and int8 ONNX.

Then a head-to-head run (``compress.bench.paired``): the default student int8 and both MiniLM int8 files in one
process, measured in interleaved rounds in several fresh processes; the latency targets are the medians of the
per-round ratios (one subprocess per model swings 25-80% at batch 1 on a small shared machine, more than the
margins).

Every model is also scored on the retrieval sets (``../shared/data/retrieval``: CACM, NPL; nDCG@10, recall@100,
MRR@10) and our students on index compatibility (their queries against the teacher's document embeddings);
document embeddings are cached in ``--cache`` per model file.

Reproduce (repo root, after scripts/setup.sh, on an otherwise idle machine; the exports are made when missing):
    .venv/bin/compress run                                    # default recipe -> runs/release
    .venv/bin/compress run --config configs/fast.toml         # fast tier      -> runs/fast
    .venv/bin/python benchmarks/peers.py --data ../shared/data
    .venv/bin/python benchmarks/peers.py --render     # BENCHMARKS.md and the plot again from peers.json
    .venv/bin/python benchmarks/peers.py --retrieval-only     # accuracy only (STS, retrieval, index) of every
                                                      # model, into peers.json beside the timed run

Writes BENCHMARKS.md, benchmarks/results/peers.json and benchmarks/results/peers.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from compress.bench.bench_report import pareto_plot, results_markdown, spread
from compress.bench.harness import BenchData, ModelSpec, length_groups, recorded_settings, run_bench
from compress.bench.paired import PairedSettings, ratios, run_paired
from compress.bench.peer_exports import (
    ST_INT8,
    ST_OV_INT8,
    host_preset,
    st_int8_export,
    st_int8_file,
    st_openvino_int8_export,
)
from compress.bench.results import add_data_argument, command_line, results_dir
from compress.bench.retrieval.evaluate import RetrievalData
from compress.bench.retrieval.retrieval_report import retrieval_markdown
from compress.config import BenchConfig
from compress.data import load_corpus, load_sts
from compress.data.beir import load_beir
from compress.io import write_json_atomic, write_text_atomic
from compress.machine import machine_info, machine_line
from compress.models import mpnet_path
from compress.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]
RESULTS = results_dir(__file__)
MINILM_INT8 = "MiniLM-L6 int8 (ST export)"
MINILM_OURS = "MiniLM-L6 int8 (our export)"
MINILM_ST_OV = "MiniLM-L6 int8 (ST OpenVINO export)"
MINILM_OURS_OV = "MiniLM-L6 int8 (our export, OpenVINO)"
STUDENT_ST_OV = "default student int8 (ST OpenVINO export)"
STUDENT_DYNAMIC = "default student int8, dynamic (before)"


def model2vec_teacher(work: Path) -> Path:
    """Model2Vec distilled from the teacher (256 PCA dims, the package's defaults), saved once."""
    folder = work / "model2vec-mpnet"
    if not (folder / "model.safetensors").exists():
        from model2vec.distill import distill_from_model
        from transformers import AutoModel, AutoTokenizer

        path = str(mpnet_path())
        model = distill_from_model(AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path),
                                   device="cpu")
        model.save_pretrained(str(folder))
    return folder


def st_int8(name: str, work: Path, preset: str = "avx512_vnni") -> Path:
    folder = work / name / "st"
    if not st_int8_file(folder, preset).exists():
        from compress.models import resolve_model

        st_int8_export(resolve_model(name), folder, preset)
    return folder


def st_int8_rows(name: str, label: str, work: Path) -> list[ModelSpec]:
    """The avx512_vnni file (the timed run's host), and on another CPU also that CPU's own preset: the
    avx512_vnni file of all-mpnet-base-v2 is broken on an AVX2-only CPU (STS 13: u8 x s8 saturation)."""
    rows = [ModelSpec(label, "st-onnx", str(st_int8(name, work)), ST_INT8)]
    if (preset := host_preset()) != "avx512_vnni":
        folder = st_int8(name, work, preset)
        rows.append(ModelSpec(f"{label[:-1]}, {preset} preset)", "st-onnx", str(folder),
                              st_int8_file(folder, preset).relative_to(folder).as_posix()))
    return rows


def calibration_sentences(data: Path) -> list[str]:
    return load_corpus(data / "corpus" / "sentences.txt.gz", max_sentences=2000, validation=300).validation


def st_openvino(name_or_dir: str, work: Path, data: Path) -> Path:
    """sentence-transformers' OpenVINO static int8 export, calibrated on 300 corpus sentences, made once."""
    folder = work / "st-openvino"
    if not (folder / ST_OV_INT8).exists():
        from compress.models import resolve_model

        st_openvino_int8_export(resolve_model(name_or_dir), folder, calibration_sentences(data))
    return folder


def openvino_rows(args: argparse.Namespace, work: Path, minilm: Path) -> list[ModelSpec]:
    """sentence-transformers' OpenVINO int8 exports (its OpenVINO backend runs them) of all-MiniLM-L6-v2 and of
    our default student, and our own OpenVINO int8 file of all-MiniLM-L6-v2 (run by our runtime)."""
    data = Path(args.data)
    return [ModelSpec(MINILM_ST_OV, "st-openvino", str(st_openvino("all-MiniLM-L6-v2", work / "all-MiniLM-L6-v2",
                                                                     data)), ST_OV_INT8),
            ModelSpec(MINILM_OURS_OV, "onnx", str(minilm), runtime="openvino"),
            ModelSpec(STUDENT_ST_OV, "st-openvino", str(st_openvino(args.default_student, work / "default-student",
                                                                     data)), ST_OV_INT8)]


def our_minilm_int8(work: Path, data: Path) -> Path:
    folder = work / "all-MiniLM-L6-v2" / "artifact"
    if not (folder / "manifest.json").exists():
        from compress.config import ExportConfig, Target
        from compress.models import minilm_path
        from export.pipeline import export_artifact

        export_artifact(minilm_path(), folder, ExportConfig(targets=[Target("avx512_vnni"), Target("avx2")]),
                        calibration_sentences(data), load_sts(data / "stsb" / "dev.csv"))
    return folder


def models(args: argparse.Namespace) -> list[ModelSpec]:
    from export.artifact.host import host_target
    from export.artifact.layout import OV_FP32, quantized_file

    work = Path(args.work)
    minilm = our_minilm_int8(work, Path(args.data))
    found = [ModelSpec("mpnet teacher (torch)", "torch", "all-mpnet-base-v2", teacher=True),
             *st_int8_rows("all-mpnet-base-v2", "mpnet int8 (ST export)", work),
             ModelSpec("MiniLM-L6 (torch)", "torch", "all-MiniLM-L6-v2"),
             *st_int8_rows("all-MiniLM-L6-v2", MINILM_INT8, work),
             ModelSpec(MINILM_OURS, "onnx", str(minilm)), *openvino_rows(args, work, minilm),
             ModelSpec("Model2Vec of mpnet", "model2vec", str(model2vec_teacher(work)))]
    for label, folder in (("default", Path(args.default)), ("fast", Path(args.fast))):
        if not (folder / "manifest.json").exists():
            raise SystemExit(f"{folder} is not a release folder: run compress run first (see the docstring)")
        fp32 = "onnx/model_optimized.onnx" if (folder / "onnx" / "model_optimized.onnx").exists() else "onnx/model.onnx"
        found += [ModelSpec(f"{label} student fp32", "onnx", str(folder), fp32),
                  ModelSpec(f"{label} student int8", "onnx", str(folder))]
        if (folder / OV_FP32).exists():
            found.append(ModelSpec(f"{label} student int8 (OpenVINO)", "onnx", str(folder), runtime="openvino"))
        if label == "default":  # the dynamic int8 file (the only int8 kind before static files): for the ratios
            found.append(ModelSpec(STUDENT_DYNAMIC, "onnx", str(folder), quantized_file(host_target() or "avx2")))
    return found


def without_teacher_scores(entry: dict[str, Any]) -> dict[str, Any]:
    """The one-thread run has no teacher beside it: its cosine is to the student's own fp32 file, not the
    teacher's embeddings; drop it so that the column means one thing."""
    return {k: v for k, v in entry.items() if k != "cosine"}


def row(entries: list[dict[str, Any]], label: str, profile: str = "x86-server") -> dict[str, Any]:
    return next(e for e in entries if e["model"] == label and e["profile"] == profile)


def p50(entry: dict[str, Any]) -> float:
    return float(entry["latency_batch1"]["total"]["p50_ms"])


STUDENT_INT8 = "default student int8"


def head_to_head(specs: list[ModelSpec], sentences: list[str], settings: PairedSettings) -> dict[str, Any]:
    """The default student int8 and both MiniLM int8 files, interleaved in one process (x86-server)."""
    import tempfile

    chosen = [m for m in specs if m.label in (STUDENT_INT8, MINILM_INT8, MINILM_OURS)]
    with tempfile.TemporaryDirectory() as tmp:
        rounds = run_paired(chosen, get_profile("x86-server"), sentences, settings, Path(tmp))
    per_round = [r["models"] for r in rounds]
    return {"settings": settings.__dict__, "models": [m.label for m in chosen], "rounds": rounds,
            "against": {peer: ratios(per_round, peer) for peer in (MINILM_INT8, MINILM_OURS)}}


def targets(entries: list[dict[str, Any]], paired: dict[str, Any], timed_run: Path) -> list[dict[str, Any]]:
    """Issue 7's targets, each with the measured value and whether it was met. Latency ratios: the head-to-head
    medians; the ratio of the separate-process rows of the table is kept beside them."""
    student, fast = row(entries, STUDENT_INT8), row(entries, "fast student int8")
    fast_1core = row(entries, "fast student int8", "edge-1core")
    checks = []
    for peer in (MINILM_INT8, MINILM_OURS):
        base, ours = row(entries, peer), paired["against"][peer][STUDENT_INT8]
        latency, speed = ours["latency_ratio"]["median"], ours["throughput_ratio"]["median"]
        checks += [
            {"target": f"default int8 batch-1 p50 <= 0.7x {peer}", "value": latency, "limit": 0.7,
             "met": latency <= 0.7, "separate_processes": p50(student) / p50(base)},
            {"target": f"default int8 batch-32 throughput >= 1.5x {peer}", "value": speed, "limit": 1.5,
             "met": speed >= 1.5, "separate_processes": student["throughput"]["32"] / base["throughput"]["32"]}]
    stages = json.loads(timed_run.read_text())["stages"]  # a default run from an empty cache
    minutes = sum(s["seconds"] for s in stages.values()) / 60
    checks += [
        {"target": "default int8 STS-B test >= 82.6", "value": student["sts_spearman"], "limit": 82.6,
         "met": student["sts_spearman"] >= 82.6},
        {"target": "default int8 size <= 25 MB", "value": student["size_mb"], "limit": 25,
         "met": student["size_mb"] <= 25},
        {"target": "default compress run stages <= 60 min", "value": minutes, "limit": 60,
         "met": minutes <= 60 and not any(s["reused"] for s in stages.values())},
        {"target": "fast int8 batch-32 >= 15,000 sentences/s (x86-server, all cores)",
         "value": fast["throughput"]["32"], "limit": 15000, "met": fast["throughput"]["32"] >= 15000},
        {"target": "fast int8 batch-32 >= 15,000 sentences/s (edge-1core, 1 thread)",
         "value": fast_1core["throughput"]["32"], "limit": 15000, "met": fast_1core["throughput"]["32"] >= 15000},
        {"target": "fast int8 STS-B test >= 75", "value": fast["sts_spearman"], "limit": 75,
         "met": fast["sts_spearman"] >= 75}]
    return checks + runtime_targets(entries)


def best_b32(entries: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """The fastest at batch 32 in length-sorted batches (as ``serve`` batches)."""
    return max((row(entries, label) for label in labels), key=lambda e: e["throughput_sorted"]["32"])


def runtime_targets(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runtime targets: the default student's best runtime against its dynamic int8 file; our OpenVINO
    MiniLM against sentence-transformers' OpenVINO export of it; the fast tier against Model2Vec as each is
    called by its users (one whole-list call)."""
    before = row(entries, STUDENT_DYNAMIC)
    best = best_b32(entries, [STUDENT_INT8, "default student int8 (OpenVINO)"])
    fp32 = row(entries, "default student fp32")
    ours, st = row(entries, MINILM_OURS_OV), row(entries, MINILM_ST_OV)
    fast, m2v = row(entries, "fast student int8"), row(entries, "Model2Vec of mpnet")
    speed = best["throughput_sorted"]["32"] / before["throughput"]["32"]
    kept = 100 * best["sts_spearman"] / fp32["sts_spearman"]
    return [
        {"target": f"default best runtime ({best['model']}, length-sorted b32 as serve batches) >= 2x the dynamic "
                   "int8 file's b32 (corpus order, as the harness measured it before)", "value": speed,
         "limit": 2.0, "met": speed >= 2.0,
         "same_order": best["throughput"]["32"] / before["throughput"]["32"]},
        {"target": "default best runtime keeps >= 99.5% of the fp32 file's STS test", "value": kept, "limit": 99.5,
         "met": kept >= 99.5},
        {"target": "default best runtime batch-invariant (min cosine >= 0.9999)",
         "value": best["batch_invariance"]["min_cosine"], "limit": 0.9999,
         "met": best["batch_invariance"]["min_cosine"] >= 0.9999},
        {"target": "default best runtime b1 p50 <= the dynamic int8 file's", "value": p50(best) / p50(before),
         "limit": 1.0, "met": p50(best) <= p50(before)},
        {"target": f"{MINILM_OURS_OV} b32 >= {MINILM_ST_OV} (ratio)",
         "value": ours["throughput"]["32"] / st["throughput"]["32"], "limit": 1.0,
         "met": ours["throughput"]["32"] >= st["throughput"]["32"]},
        {"target": f"{MINILM_OURS_OV} STS test >= {MINILM_ST_OV} (difference)",
         "value": ours["sts_spearman"] - st["sts_spearman"], "limit": 0.0,
         "met": ours["sts_spearman"] >= st["sts_spearman"]},
        {"target": "fast int8 whole-list call >= Model2Vec's (sentences/s ratio)",
         "value": fast["as_users_call"]["per_s"] / m2v["as_users_call"]["per_s"], "limit": 1.0,
         "met": fast["as_users_call"]["per_s"] >= m2v["as_users_call"]["per_s"]}]


def head_to_head_markdown(paired: dict[str, Any]) -> list[str]:
    settings, against = paired["settings"], paired["against"]
    lines = ["## Head-to-head: one process, interleaved rounds", "",
             f"{settings['processes']} fresh processes x {settings['rounds']} rounds, x86-server (all cores). Each "
             f"round runs every model, in rotating order, on the same sentences: {settings['warmup']} untimed calls, "
             f"{settings['calls']} batch-1 calls (p50 of the round), {settings['batches']} batches of "
             f"{settings['batch']}. Ratios are taken within a round; median [quartiles] over all rounds.", "",
             f"| model | b1 p50 ms | b32 sent/s | b1 / {MINILM_INT8} | b32 / {MINILM_INT8} | b1 / {MINILM_OURS} | "
             f"b32 / {MINILM_OURS} |", "|---|---:|---:|---:|---:|---:|---:|"]

    for label in paired["models"]:
        st, ours = against[MINILM_INT8][label], against[MINILM_OURS][label]
        cells = [spread(r, unit="") for r in (st["latency_ratio"], st["throughput_ratio"], ours["latency_ratio"],
                                               ours["throughput_ratio"])]
        lines.append(f"| {label} | {st['b1_p50_ms']:.2f} | {st['throughput']:.0f} | {' | '.join(cells)} |")
    return [*lines, ""]


def earlier_section(doc: dict[str, Any]) -> list[str]:
    """Rows of models the latest timed run did not measure (``--only``), from the run that did: not side by side
    with the rows above, so apart."""
    earlier = doc.get("earlier")
    if not earlier or not earlier.get("results"):
        return []
    table = results_markdown({"settings": earlier["settings"], "results": earlier["results"]}, gates=False)
    return ["## Models not re-measured in this run", "", f"From `{earlier['command']}` (an earlier run of the same "
            "harness, before the runtime columns). Ratios to the rows above are not side by side.", "",
            machine_line(earlier["machine"]), "", *table, ""]


def retrieval_section(doc: dict[str, Any]) -> list[str]:
    """Retrieval and index compatibility: from the timed run, or from a later accuracy-only run (its own command
    and machine: the int8 file a model runs depends on the CPU)."""
    run = doc.get("retrieval_run")
    if run is None:
        return retrieval_markdown(doc)
    lines = ["", "# Retrieval and index compatibility", "",
             f"Command: `{run['command']}`, a run of the same harness that measures accuracy only (STS, retrieval, "
             "index compatibility; its few timing calls are not reported).", "", machine_line(run["machine"]),
             "The int8 file each model runs is the one for this CPU, so an int8 row can differ slightly from the "
             "timed run's file above; fp32 and PyTorch rows run the same weights.", ""]
    return [*lines, *retrieval_markdown(run)]


def write(doc: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json_atomic(RESULTS / "peers.json", doc)  # its Markdown is BENCHMARKS.md, at the top of the repo
    pareto_plot(doc["results"], RESULTS / "peers.png")
    lines = ["# Benchmarks: the default and fast students against their peers", "",
             f"Command: `{doc['command']}` (the artifacts: the releases of `compress run` and `compress run --config "
             "configs/fast.toml`, or `compress export` of their students).",
             "", machine_line(doc["machine"]), "", *results_markdown(doc, gates=False), "",
             "![accuracy vs latency](benchmarks/results/peers.png)", "",
             "## Targets", "", "| target | measured | met | separate processes |", "|---|---:|---|---:|"]
    lines += [f"| {c['target']} | {c['value']:.3g} | {'yes' if c['met'] else 'NO'} |"
              + (f" {c['separate_processes']:.3g} |" if "separate_processes" in c else " |")
              + (f" (both in corpus order: {c['same_order']:.3g})" if "same_order" in c else "")
              for c in doc["targets"]]
    lines += ["", "Latency ratios: the head-to-head medians below; 'separate processes' is the same ratio from the "
              "table's one-process-per-model rows.", "", *head_to_head_markdown(doc["paired"]),
              *earlier_section(doc), *retrieval_section(doc)]
    lines += ["", "STS-B test Spearman x100 (the harness encodes both sides of each pair); every setting was chosen "
              "on STS-B dev and the corpus before these test scores were read. Latency: batch 1, real held-back "
              "corpus sentences, tokenization included; throughput: batches of 32 and 128. On edge-1core no "
              "teacher runs beside the models, so no retention or cosine there. What fell short, why, and what "
              "would reach it: docs/recipe.md.", ""]
    write_text_atomic(ROOT / "BENCHMARKS.md", "\n".join(lines))


RETRIEVAL_SETS = ("cacm", "npl")


def retrieval_data(args: argparse.Namespace) -> RetrievalData:
    folder = Path(args.data) / "retrieval"
    return RetrievalData([load_beir(folder / name) for name in RETRIEVAL_SETS], Path(args.cache))


def eval_sets(data: BenchData) -> dict[str, Any]:
    return {"retrieval": {s.name: s.describe() for s in data.retrieval.sets}, "search": data.retrieval.search.value}


def retrieval_only(args: argparse.Namespace) -> None:
    """Accuracy of every model (STS test, retrieval, index compatibility) on x86-server, into peers.json."""
    data = Path(args.data)
    corpus = load_corpus(data / "corpus" / "sentences.txt.gz", max_sentences=30000, validation=1000)
    settings = BenchConfig(latency_calls=5, warmup=1, throughput_batches=1, heldback_sentences=256,
                           throughput_seconds=0.0)
    bench_data = BenchData(corpus.validation, corpus.validation[:256], load_sts(data / "stsb" / "test.csv"),
                           {}, retrieval=retrieval_data(args))
    every = models(args)
    specs = [m for m in every if not args.only or m.teacher or m.label in args.only]
    entries = run_bench(specs, [get_profile("x86-server")], bench_data, settings)
    keep = ("model", "kind", "profile", "teacher", "status", "error", "file", "size_mb", "sts_spearman",
            "retention_percent", "cosine", "retrieval", "index")
    path = RESULTS / "peers.json"
    doc = json.loads(path.read_text())
    rows = [{k: e[k] for k in keep if k in e} for e in entries]
    command = command_line(__file__)
    if args.only and "retrieval_run" in doc:  # the other rows stay as the earlier run measured them
        run = doc["retrieval_run"]
        measured = {r["model"]: r for r in rows}
        labels = [m.label for m in every]
        kept = {r["model"]: r for r in run["results"] if r["model"] not in measured}
        run["results"] = [measured.get(label) or kept[label] for label in labels if label in measured or label in kept]
        run["command"] = f"{run['command']}, then {command}"
    else:
        doc["retrieval_run"] = {"command": command, "machine": machine_info(),
                                "settings": {"eval_sets": eval_sets(bench_data)}, "results": rows}
    write(doc)
    failed = [e for e in entries if e.get("status") != "ok"]
    if failed:
        raise SystemExit(f"not measured: {[(e['model'], e.get('status'), e.get('error')) for e in failed]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--default", default="runs/release", help="the default recipe's release folder")
    parser.add_argument("--fast", default="runs/fast", help="the fast tier's release folder")
    parser.add_argument("--work", default="runs/bench-export", help="where peer exports are kept")
    parser.add_argument("--timed-run", default="benchmarks/results/default_run/report.json",
                        help="report.json of a default compress run from an empty cache (for the 60-minute target)")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--paired-processes", type=int, default=5, help="head-to-head: fresh processes")
    parser.add_argument("--paired-rounds", type=int, default=20, help="head-to-head: rounds per process")
    parser.add_argument("--render", action="store_true", help="write BENCHMARKS.md and peers.png from the saved "
                        "benchmarks/results/peers.json, measuring nothing")
    parser.add_argument("--retrieval-only", action="store_true", help="measure accuracy only (STS, retrieval, "
                        "index compatibility) and add it to the saved peers.json as its retrieval run")
    parser.add_argument("--cache", default=".cache/st-compress", help="embedding cache (document embeddings)")
    parser.add_argument("--default-student", default="runs/default-student", help="the default recipe's student "
                        "(PyTorch folder from the distill stage), for sentence-transformers' OpenVINO export of it")
    parser.add_argument("--skip-retrieval", action="store_true", help="timed run without the retrieval sets; the "
                        "saved peers.json's retrieval run is kept (run --retrieval-only to refresh it)")
    parser.add_argument("--only", action="append", default=[], help="measure these labels (and the teacher); "
                        "--retrieval-only: replace their rows in the saved retrieval run; a timed run keeps the "
                        "other models' rows apart, from the run that measured them")
    args = parser.parse_args()
    if args.render:
        write(json.loads((RESULTS / "peers.json").read_text()))
        return
    if args.retrieval_only:
        retrieval_only(args)
        return
    data = Path(args.data)
    corpus = load_corpus(data / "corpus" / "sentences.txt.gz", max_sentences=30000, validation=1000)
    settings = BenchConfig(latency_calls=args.calls, warmup=50, throughput_batches=8, heldback_sentences=256,
                           throughput_seconds=2.0)
    bench_data = BenchData(corpus.validation, corpus.validation[:256], load_sts(data / "stsb" / "test.csv"),
                           length_groups(corpus.validation),
                           retrieval=RetrievalData() if args.skip_retrieval else retrieval_data(args))
    every = models(args)
    specs = [m for m in every if not args.only or m.teacher or m.label in args.only]
    entries = run_bench(specs, [get_profile("x86-server")], bench_data, settings)
    small = [m for m in specs if m.label.startswith(("fast", "Model2Vec", MINILM_OURS))]  # 1 thread: small graphs
    one_thread = run_bench(small, [get_profile("edge-1core")], bench_data, settings)
    entries += [without_teacher_scores(e) for e in one_thread]
    doc: dict[str, Any] = {
        "schema": "st-compress/peers/2", "command": command_line(__file__),
        "machine": machine_info(), "settings": {**recorded_settings(settings), "eval_sets": eval_sets(bench_data)},
        "results": entries, "gates": {"failed": []}}
    failed = [e for e in entries if e.get("status") != "ok"]
    if failed:  # keep what was measured; say which model could not be
        write_json_atomic(RESULTS / "peers.json", doc)
        raise SystemExit(f"not measured: {[(e['model'], e.get('status'), e.get('error')) for e in failed]}")
    doc["paired"] = head_to_head(specs, corpus.validation,
                                 PairedSettings(rounds=args.paired_rounds, processes=args.paired_processes))
    doc["targets"] = targets(entries, doc["paired"], Path(args.timed_run))
    saved = RESULTS / "peers.json"
    old = json.loads(saved.read_text()) if saved.exists() else {}
    if args.skip_retrieval and "retrieval_run" in old:
        doc["retrieval_run"] = old["retrieval_run"]
    if args.only:  # the rows of the models this run left out stay, apart, with the run that measured them
        measured = {m.label for m in specs}
        kept = [e for e in old.get("results", []) if e["model"] not in measured and e.get("status") == "ok"]
        doc["earlier"] = ({"command": old["command"], "machine": old["machine"], "settings": old["settings"],
                           "results": kept} if kept else old.get("earlier"))
    write(doc)
    print(json.dumps(doc["targets"], indent=2))


if __name__ == "__main__":
    main()
