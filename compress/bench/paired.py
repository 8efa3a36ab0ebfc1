"""Head-to-head speed: several models in one process, measured in interleaved rounds.

Batch-1 p50 on a small shared machine moves by 25-80% from one process to the next (core placement, neighbours),
more than the differences it is asked to judge. Here every model is loaded into one process and measured in
rounds: each round runs every model (the order rotates), on the same sentences, a short untimed warm-up, then
``calls`` batch-1 calls and ``batches`` batches of 32. A ratio taken within a round sees the same conditions on
both sides; the median over rounds (and over several processes) drops the rounds a neighbour disturbed.

    python -m compress.bench.paired SPEC.json      # one process; prints one JSON line

``run_paired`` runs that in ``processes`` fresh processes and ``ratios`` summarizes the rounds.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.harness import ModelSpec, model_file
from compress.bench.worker import LOADERS, run_spec, spawn
from compress.errors import CompressError
from compress.profiles import Profile


@dataclass(frozen=True)
class PairedSettings:
    rounds: int = 20  # per process
    calls: int = 100  # batch-1 calls per model per round
    batches: int = 4  # batches of `batch` per model per round
    batch: int = 32
    warmup: int = 10  # untimed calls per model per round, after switching models
    processes: int = 3


def _round(models: dict[str, tuple[Any, Any]], order: list[str], sentences: list[str], start: int,
           settings: dict[str, int]) -> dict[str, dict[str, float]]:
    calls, batch, batches = settings["calls"], settings["batch"], settings["batches"]
    ones = [[sentences[(start + i) % len(sentences)]] for i in range(calls)]
    chunks = [[sentences[(start + i * batch + j) % len(sentences)] for j in range(batch)] for i in range(batches)]
    out = {}
    for label in order:
        tokenize, infer = models[label]
        for i in range(settings["warmup"]):
            infer(tokenize(ones[i % calls]))
        times = np.zeros(calls)
        for i, texts in enumerate(ones):
            begin = time.perf_counter()
            infer(tokenize(texts))
            times[i] = time.perf_counter() - begin
        begin = time.perf_counter()
        for chunk in chunks:
            infer(tokenize(chunk))
        out[label] = {"b1_p50_ms": 1000 * float(np.median(times)),
                      "throughput": batch * batches / (time.perf_counter() - begin)}
    return out


def measure(spec: dict[str, Any]) -> list[dict[str, dict[str, float]]]:
    """All of ``spec["models"]`` in this process; one dict per round: label -> b1_p50_ms, throughput."""
    models = {m["label"]: LOADERS[m["kind"]]({**m, "threads": spec.get("threads")}) for m in spec["models"]}
    labels, sentences, settings = list(models), spec["sentences"], spec["settings"]
    rounds = []
    for r in range(settings["rounds"]):
        order = labels[r % len(labels):] + labels[:r % len(labels)]
        rounds.append(_round(models, order, sentences, r * settings["calls"], settings))
    return rounds


def _spread(values: np.ndarray) -> dict[str, float]:
    return {"median": float(np.median(values)), "q1": float(np.percentile(values, 25)),
            "q3": float(np.percentile(values, 75))}


def ratios(rounds: list[dict[str, dict[str, float]]], reference: str) -> dict[str, dict[str, Any]]:
    """Per model: median (and quartiles) over rounds of its b1 p50 / the reference's, and of its batch
    throughput / the reference's, both taken within each round; plus its own medians."""
    summary = {}
    for label in rounds[0]:
        latency = np.array([r[label]["b1_p50_ms"] / r[reference]["b1_p50_ms"] for r in rounds])
        speed = np.array([r[label]["throughput"] / r[reference]["throughput"] for r in rounds])
        summary[label] = {
            "b1_p50_ms": float(np.median([r[label]["b1_p50_ms"] for r in rounds])),
            "throughput": float(np.median([r[label]["throughput"] for r in rounds])),
            "latency_ratio": _spread(latency), "throughput_ratio": _spread(speed)}
    return summary


def run_paired(models: list[ModelSpec], profile: Profile, sentences: list[str], settings: PairedSettings,
               folder: Path, timeout_s: float = 3600) -> list[dict[str, Any]]:
    """``settings.processes`` fresh processes, one after another; every round of every process, in order, as
    ``{"process": i, "models": {label: {"b1_p50_ms", "throughput"}}}``."""
    spec = {"models": [{"label": m.label, "kind": m.kind, "path": m.path, "file": model_file(m, profile)}
                       for m in models],
            "threads": profile.thread_count, "cores": list(profile.cores or []), "sentences": sentences,
            "settings": asdict(settings)}
    rounds: list[dict[str, Any]] = []
    for process in range(settings.processes):
        result, error = spawn("compress.bench.paired", spec, folder / "paired.json", timeout_s)
        if error is not None:
            raise CompressError(f"paired measurement failed: {error}", "run the models alone with compress bench")
        rounds += [{"process": process, "models": r} for r in result]
    return rounds


def main() -> None:
    run_spec(measure)


if __name__ == "__main__":
    main()
