"""The artifact's own runtime benchmark: its best onnxruntime int8 file against its OpenVINO int8 file on this
host, side by side (sorted batches of 32, and batch-1 calls), so that ``runtime = "auto"`` can pick the faster
runtime on a host with the same ISA. Noisy on a busy machine: the ratio, not the numbers, decides. Only a
batch-invariant file can be chosen when one is measured (``serve`` batches concurrent requests together only on
such a file, and a client's vector must not depend on its neighbours'); the others are measured and recorded."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from export.artifact.encoder import TextEncoder
from export.artifact.host import cpu_model, host_isa, int8_kernels
from export.artifact.load import open_file

ROUNDS = 3  # alternating runtimes, best round of each
SINGLE_CALLS = 50


def throughput(encoder: TextEncoder, texts: list[str], batch: int = 32) -> float:
    """Sentences per second of one ``encode`` over ``texts`` in batches of ``batch``, in the given order."""
    start = time.perf_counter()
    encoder.encode(texts, batch_size=batch)
    return len(texts) / (time.perf_counter() - start)


def p50_ms(encoder: TextEncoder, texts: list[str]) -> float:
    """Median milliseconds of one batch-1 call per text."""
    times = []
    for text in texts:
        start = time.perf_counter()
        encoder.encode([text], batch_size=1)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure_runtimes(folder: Path, files: dict[str, str], sentences: list[str],
                     invariant: dict[str, bool] | None = None) -> dict[str, Any]:
    """``files``: runtime -> the passing int8 file to measure; ``invariant``: file -> batch-invariant (None: all
    eligible). Batches are length-sorted, as ``serve`` sorts."""
    texts = sorted(sentences, key=len)
    encoders = {runtime: open_file(folder, file) for runtime, file in files.items()}
    for encoder in encoders.values():  # warm-up: first calls compile kernels for new shapes
        encoder.encode(texts[:64], batch_size=32)
    best: dict[str, dict[str, float]] = {r: {"batch32_per_s": 0.0, "batch1_p50_ms": float("inf")} for r in files}
    for _ in range(ROUNDS):
        for runtime, encoder in encoders.items():
            best[runtime]["batch32_per_s"] = max(best[runtime]["batch32_per_s"], throughput(encoder, texts))
            best[runtime]["batch1_p50_ms"] = min(best[runtime]["batch1_p50_ms"],
                                                 p50_ms(encoder, texts[:SINGLE_CALLS]))
    invariant = invariant or {}
    eligible = [r for r in files if invariant.get(files[r], True)] or list(files)
    fastest = max(eligible, key=lambda r: best[r]["batch32_per_s"])
    summary = ", ".join(f"{r} {v['batch32_per_s']:.0f}/s at batch 32, {v['batch1_p50_ms']:.2f} ms p50 at batch 1"
                        + ("" if invariant.get(files[r], True) else " (not batch-invariant: not chosen)")
                        for r, v in best.items())
    return {"isa": host_isa(), "cpu": cpu_model(), "int8_kernels": int8_kernels(), "sentences": len(texts),
            "files": files, "measured": best, "fastest": fastest, "summary": summary,
            "batch_invariant": {r: invariant.get(f) for r, f in files.items()},
            "threads": {r: e.threads for r, e in encoders.items()}}
