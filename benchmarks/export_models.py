"""Export benchmark: our fp32 / optimized / gated int8 ONNX files beside sentence-transformers' own int8 export.

For each model, in one run on one machine: STS-B test Spearman and batch-1 latency (onnxruntime session time on
pre-tokenized real sentences; the same sentences for every file) of every file.

Reproduce (from the repo root, after scripts/setup.sh; the machine should be otherwise idle):
    .venv/bin/python benchmarks/export_models.py --data ../shared/data

Writes benchmarks/results/export_models.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.peer_exports import ST_INT8, st_int8_export
from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.config import ExportConfig, Target
from compress.data import load_corpus, load_sts
from compress.data.sts import StsPairs
from compress.metrics import sts_spearman, sts_spearman_from_embeddings
from compress.models import resolve_model
from export.artifact.encoder import OnnxEncoder
from export.artifact.host import cpu_flags, cpu_model
from export.pipeline import export_artifact

RESULTS = results_dir(__file__)


def interleaved_latency(sessions: dict[str, Any], feeds: list[dict[str, np.ndarray]], calls: int,
                        warmup: int = 20) -> dict[str, dict[str, float]]:
    """Batch-1 latency of every session, measured round-robin so that machine noise hits all of them alike."""
    inputs = {label: {i.name for i in s.get_inputs()} for label, s in sessions.items()}
    times: dict[str, list[float]] = {label: [] for label in sessions}
    for i in range(warmup + calls):
        feed = feeds[i % len(feeds)]
        for label, session in sessions.items():
            valid = {k: v for k, v in feed.items() if k in inputs[label]}
            start = time.perf_counter()
            session.run(None, valid)
            if i >= warmup:
                times[label].append((time.perf_counter() - start) * 1000)
    return {label: {"p50_ms": float(np.percentile(t, 50)), "p95_ms": float(np.percentile(t, 95))}
            for label, t in times.items()}


def single_feeds(encoder: OnnxEncoder, sentences: list[str]) -> list[dict[str, np.ndarray]]:
    feeds = [encoder.feeds([s]) for s in sentences]
    for feed in feeds:
        feed.setdefault("token_type_ids", np.zeros_like(feed["input_ids"]))
    return feeds


def ours(path: Path, artifact: Path, max_len: int, sts: StsPairs) -> tuple[dict[str, Any], Any]:
    encoder = OnnxEncoder(path, artifact, max_len)
    spearman = sts_spearman_from_embeddings(encoder.encode(sts.sentences1), encoder.encode(sts.sentences2), sts)
    return {"sts_test": spearman, "size_mb": path.stat().st_size / 1e6}, encoder.session


def st_export(model_dir: str, work: Path, sts: StsPairs) -> tuple[dict[str, Any], Any]:
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    path = st_int8_export(model_dir, work)
    quantized = SentenceTransformer(str(work), backend="onnx", device="cpu",
                                    model_kwargs={"file_name": ST_INT8})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return {"sts_test": sts_spearman(quantized, sts), "size_mb": path.stat().st_size / 1e6}, session


def bench_model(name: str, args: argparse.Namespace, sentences: list[str], sts_dev: StsPairs,
                sts_test: StsPairs) -> list[dict[str, Any]]:
    from sentence_transformers import SentenceTransformer

    model_dir = resolve_model(name)
    work = Path(args.work) / name
    config = ExportConfig(targets=[Target(t) for t in args.targets], min_retention=args.min_retention)
    start = time.perf_counter()
    result = export_artifact(Path(model_dir), work / "artifact", config, sentences, sts_dev)
    export_seconds = time.perf_counter() - start
    torch_model = SentenceTransformer(model_dir, device="cpu")
    max_len = torch_model.max_seq_length
    rows = [{"model": name, "file": "PyTorch (sentence-transformers)", "sts_test": sts_spearman(torch_model, sts_test)}]
    encoder = OnnxEncoder(work / "artifact" / "onnx" / "model.onnx", work / "artifact", max_len)
    feeds = single_feeds(encoder, sentences[: args.calls])
    files = ["onnx/model.onnx", "onnx/model_optimized.onnx", *result.report["quantized"]]
    sessions = {}
    for file in files:
        path = work / "artifact" / file
        if path.exists():
            row, sessions[f"ours: {file}"] = ours(path, work / "artifact", max_len, sts_test)
            gate = result.report["quantized"].get(file)
            if gate:
                row["gate"] = {"passed": gate["passed"], "excluded": len(gate["settings"]["nodes_to_exclude"]),
                               "tries": len(gate["attempts"]), "dev_retention": gate["score"]["retention_percent"]}
            rows.append({"model": name, "file": f"ours: {file}", **row})
    st_label = "sentence-transformers export_dynamic_quantized_onnx_model (avx512_vnni)"
    row, sessions[st_label] = st_export(model_dir, work / "st", sts_test)
    rows.append({"model": name, "file": st_label, **row})
    latencies = interleaved_latency(sessions, feeds, args.calls)
    for row in rows:
        row.update(latencies.get(row["file"], {}))
        print(json.dumps(row), file=sys.stderr, flush=True)
    rows[0]["export_seconds"] = export_seconds
    return rows


def markdown(rows: list[dict[str, Any]], command: str, machine: dict[str, Any]) -> str:
    lines = ["# Export benchmark: STS-B test and batch-1 latency, side by side", "", f"Command: `{command}`", "",
             f"Machine: {machine['cpu']}, {machine['cpus']} cores, flags {', '.join(machine['flags'])}; "
             f"onnxruntime with default threads. Latency: onnxruntime session time per single pre-tokenized "
             f"sentence (p50/p95 over {machine['calls']} calls per file, all files round-robin).", "",
             "| model | file | STS-B test | vs fp32 ONNX | p50 ms | p95 ms | MB | gate |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    fp32 = {r["model"]: r["sts_test"] for r in rows if r["file"] == "ours: onnx/model.onnx"}
    for r in rows:
        rel = f"{100 * r['sts_test'] / fp32[r['model']]:.2f}%" if r["model"] in fp32 else ""
        gate = r.get("gate")
        gate_text = (f"{'pass' if gate['passed'] else 'FAIL'}, {gate['tries']} tries, {gate['excluded']} excluded"
                     if gate else "")
        lines.append(f"| {r['model']} | {r['file']} | {r['sts_test']:.2f} | {rel} | {r.get('p50_ms', float('nan')):.2f}"
                     f" | {r.get('p95_ms', float('nan')):.2f} | {r.get('size_mb', float('nan')):.1f} | {gate_text} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--models", nargs="*", default=["all-MiniLM-L6-v2", "all-mpnet-base-v2"])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--targets", nargs="*", default=[t.value for t in ExportConfig().targets])
    parser.add_argument("--min-retention", type=float, default=ExportConfig().min_retention)
    parser.add_argument("--work", default="runs/bench-export")
    args = parser.parse_args()
    corpus = load_corpus(Path(args.data) / "corpus" / "sentences.txt.gz", max_sentences=20000, validation=500)
    sts_dev, sts_test = load_sts(Path(args.data) / "stsb" / "dev.csv"), load_sts(Path(args.data) / "stsb" / "test.csv")
    command = command_line(__file__)
    wanted = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimd"}
    machine = {"cpu": cpu_model(), "cpus": os.cpu_count(), "flags": sorted(cpu_flags() & wanted),
               "platform": platform.platform(), "calls": args.calls}
    previous = RESULTS / "export_models.json"
    rows: list[dict[str, Any]] = []
    if previous.exists():  # keep the rows of models not measured again in this run
        rows = [r for r in json.loads(previous.read_text())["rows"] if r["model"] not in args.models]
    for name in args.models:
        rows += bench_model(name, args, corpus.validation, sts_dev, sts_test)
        doc = {"command": command, "machine": machine, "rows": rows}
        write_results(RESULTS, "export_models", doc, markdown(rows, command, machine))


if __name__ == "__main__":
    main()
