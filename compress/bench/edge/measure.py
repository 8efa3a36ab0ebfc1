"""Edge profiles in the harness: each artifact file run in the profile's runtime and, on the same texts in the same
batches, by onnxruntime in Python on this host: accuracy, agreement with that run, and timing (marked emulated
under qemu, where it says nothing about a device)."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.edge import js, qemu
from compress.bench.edge.browser import run_browser
from compress.bench.edge.runtimes import require
from compress.bench.harness import BenchData, ModelSpec, model_file, size_mb
from compress.bench.worker import spawn
from compress.config import BenchConfig
from compress.data.sts import StsPairs
from compress.metrics import cosine_summary, cosines, sts_spearman_from_embeddings
from compress.profiles import Profile, Runtime
from export.artifact.layout import choose_file

log = logging.getLogger(__name__)

TIMEOUT_S = 3600.0
EMULATED_CALLS = 20  # batch-1 calls timed under emulation: enough to record, never to compare


@dataclass(frozen=True)
class Texts:
    """What every edge run embeds, in this order and in batches of 32: the STS test pairs, then held-back text."""

    sts: StsPairs | None
    heldback: list[str]

    @property
    def all(self) -> list[str]:
        pairs = [*self.sts.sentences1, *self.sts.sentences2] if self.sts else []
        return [*pairs, *self.heldback]

    def sts_spearman(self, embeddings: np.ndarray) -> float | None:
        if not self.sts:
            return None
        n = len(self.sts.sentences1)
        return sts_spearman_from_embeddings(embeddings[:n], embeddings[n:2 * n], self.sts)

    def heldback_part(self, embeddings: np.ndarray) -> np.ndarray:
        return embeddings[len(self.all) - len(self.heldback):]


@dataclass(frozen=True)
class Teacher:
    """The teacher's numbers from the native profiles, to score edge runs against."""

    sts_spearman: float | None
    heldback: np.ndarray | None

    @classmethod
    def of(cls, entries: list[dict[str, Any]], embeddings: dict[int, np.ndarray]) -> Teacher:
        index = next((i for i, e in enumerate(entries) if e.get("teacher") and i in embeddings), None)
        if index is None:
            return cls(None, None)
        return cls(entries[index].get("sts_spearman"), embeddings[index])


def check_edge(models: list[ModelSpec], profiles: list[Profile]) -> None:
    """Before any work: each edge profile's runtime is set up, and each artifact has the file it runs there."""
    for profile in profiles:
        require(profile.runtime, profile.name)
        for model in models:
            if model.kind == "onnx" and not model.file and profile.quant_target != "auto":
                choose_file(Path(model.path), profile.quant_target, exact=True)


def onnx_worker_spec(path: str, file: str, texts: list[str], out: Path, calls: int, warmup: int, batches: int,
                     heldback: list[str] | None = None, threads: int | None = None) -> dict[str, Any]:
    """The bench worker's spec for one file of an artifact: timed on ``texts`` (the first 256), ``heldback``
    (default ``texts``) embedded into ``out`` (its first ones also judge batch invariance)."""
    return {"kind": "onnx", "path": path, "file": file, "threads": threads, "cores": [], "sentences": texts[:256],
            "heldback": texts if heldback is None else heldback, "latency_calls": calls, "warmup": warmup,
            "throughput_batches": batches, "throughput_seconds": 0.0, "batch_sizes": [32], "length_groups": {},
            "sts": None, "embeddings_out": str(out)}


def python_run(model: ModelSpec, file: str, texts: list[str], folder: Path) -> np.ndarray:
    """The same file, the same texts and batches, in onnxruntime on this host: the reference."""
    out = folder / "reference.npy"
    spec = onnx_worker_spec(model.path, file, texts, out, 1, 0, 1)
    _, error = spawn("compress.bench.worker", spec, folder / "ref.json", TIMEOUT_S)
    if error:
        raise RuntimeError(f"reference run: {error}")
    return np.load(out)


def _emulated(profile: Profile, model: ModelSpec, file: str, texts: list[str],
              folder: Path) -> tuple[str, dict[str, tuple[np.ndarray, dict[str, Any]]]]:
    out = folder / "emulated.npy"
    spec = onnx_worker_spec(model.path, file, texts, out, EMULATED_CALLS, 2, 2)
    result, error = qemu.emulated_worker(profile, spec, folder, TIMEOUT_S)
    if error:
        raise RuntimeError(f"emulated run: {error}")
    timing = {"emulated": True, "latency_batch1": result["latency_batch1"]["total"],
              "throughput": result["throughput"]}
    return qemu.runtime_line(profile), {"onnxruntime": (np.load(out), timing)}


def _javascript(profile: Profile, model: ModelSpec, file: str, texts: list[str], settings: BenchConfig,
                folder: Path) -> tuple[str, dict[str, tuple[np.ndarray, dict[str, Any]]]]:
    timing = {"sentences": texts[:256], "warmup": min(settings.warmup, 10),
              "latency_calls": min(settings.latency_calls, 100), "batch_sizes": [32],
              "batches": max(settings.throughput_batches, 4)}
    spec = js.js_spec(Path(model.path), file, texts, timing, profile.thread_count)
    run = run_browser(Path(model.path), spec, folder, TIMEOUT_S) if profile.runtime is Runtime.BROWSER \
        else js.run_node(spec, folder, TIMEOUT_S)
    versions = run.meta.get("onnxruntime") or {}
    line = f"transformers.js {run.meta.get('transformers_js')} on onnxruntime-" + \
        ("web " + str(versions.get("web")) + f" (WebAssembly, {run.meta.get('wasm_threads')} threads)"
         if profile.runtime is Runtime.BROWSER else f"node {versions.get('node')}, {run.meta.get('runtime')}")
    modes = {}
    for mode, values in run.embeddings.items():
        m = run.meta["modes"][mode]
        modes[mode] = (values, {"emulated": False, "latency_batch1": m["latency_batch1"]["total"],
                                "throughput": m["throughput"], "load_ms": m["load_ms"]})
    return line, modes


def agreement(values: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    cos = cosines(values, reference)
    return {"texts": len(values), "max_abs_diff": float(np.abs(values - reference).max()),
            "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}


def _mode_result(values: np.ndarray, timing: dict[str, Any], reference: np.ndarray, texts: Texts,
                 teacher: Teacher) -> dict[str, Any]:
    result: dict[str, Any] = {"sts_spearman": texts.sts_spearman(values), "agreement": agreement(values, reference),
                              "timing": timing}
    reference_sts = texts.sts_spearman(reference)
    if result["sts_spearman"] is not None and reference_sts is not None:
        result["agreement"]["sts_delta"] = result["sts_spearman"] - reference_sts
    if teacher.sts_spearman and result["sts_spearman"] is not None:
        result["retention_percent"] = 100 * result["sts_spearman"] / teacher.sts_spearman
    if teacher.heldback is not None and texts.heldback and teacher.heldback.shape[1] == values.shape[1]:
        mean, p5 = cosine_summary(texts.heldback_part(values), teacher.heldback[:len(texts.heldback)])
        result["cosine"] = {"against": "teacher", "mean": mean, "p5": p5}
    return result


def measure_edge(model: ModelSpec, profile: Profile, data: BenchData, settings: BenchConfig, teacher: Teacher,
                 folder: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"model": model.label, "profile": profile.name, "device": profile.device,
                             "runtime_kind": profile.runtime.value}
    file = model_file(model, profile) or ""
    texts = Texts(data.sts, data.heldback)
    entry.update({"file": file, "size_mb": size_mb(model, file)})
    try:
        reference = python_run(model, file, texts.all, folder)
        if profile.runtime is Runtime.QEMU:
            line, modes = _emulated(profile, model, file, texts.all, folder)
        else:
            line, modes = _javascript(profile, model, file, texts.all, settings, folder)
    except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:  # a row, not a crash
        return {**entry, "status": "error", "error": str(exc)}
    entry.update({"status": "ok", "runtime": line,
                  "reference": {"runtime": "onnxruntime in Python on this host",
                                "sts_spearman": texts.sts_spearman(reference)},
                  "modes": {mode: _mode_result(values, timing, reference, texts, teacher)
                            for mode, (values, timing) in modes.items()}})
    return entry


def run_edge(models: list[ModelSpec], profiles: list[Profile], data: BenchData, settings: BenchConfig,
             teacher: Teacher, tmp: Path) -> list[dict[str, Any]]:
    """Our ONNX artifacts (the only models an edge runtime runs) on every edge profile."""
    entries = []
    artifacts = [m for m in models if m.kind == "onnx"]
    for p_index, profile in enumerate(profiles):
        for m_index, model in enumerate(artifacts):
            folder = tmp / f"edge-{p_index}-{m_index}"
            folder.mkdir(parents=True)
            log.info("measuring %s on %s (%s)", model.label, profile.name, profile.device)
            entries.append(measure_edge(model, profile, data, settings, teacher, folder))
    return entries
