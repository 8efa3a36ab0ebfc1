"""Run every model x profile in its own subprocess and put the results together with accuracy vs the teacher."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.retrieval.cache import Encoded
from compress.bench.retrieval.evaluate import RetrievalData, add_retrieval, encode_requests, plan
from compress.bench.worker import spawn
from compress.config import BenchConfig
from compress.data.sts import StsPairs
from compress.faults import crash_point
from compress.metrics import cosine_summary
from compress.profiles import Profile
from compress.progress import progress_bar
from export.artifact.layout import FP32
from export.artifact.prompts import Prompts, read_prompts

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".onnx_data")


@dataclass(frozen=True)
class ModelSpec:
    label: str
    kind: str  # "torch" | "onnx" (ours) | "st-onnx" / "st-openvino" (sentence-transformers' backends) | "model2vec"
    path: str
    file: str | None = None  # onnx: a file in the artifact, or None to choose per profile
    teacher: bool = False
    runtime: str = "onnxruntime"  # onnx: the runtime whose file is chosen per profile ("openvino": its IR)
    peer: bool = False  # bench.peers: measured for comparison, never gated


BATCH_SIZES = (32, 128)  # throughput batches, beside batch-1 latency
TIMEOUT_S = 3600.0  # one model x profile


def recorded_settings(config: BenchConfig) -> dict[str, Any]:
    """What bench.json records of how it measured (``settings``)."""
    return {"latency_calls": config.latency_calls, "warmup": config.warmup,
            "throughput_batches": config.throughput_batches, "throughput_seconds": config.throughput_seconds,
            "batch_sizes": list(BATCH_SIZES), "heldback": config.heldback_sentences, "timeout_s": TIMEOUT_S}


@dataclass(frozen=True)
class BenchData:
    sentences: list[str]  # real corpus sentences for timing
    heldback: list[str]  # held-back sentences for cosine to the teacher
    sts: StsPairs | None = None
    length_groups: dict[str, list[str]] = field(default_factory=dict)
    sts_sets: dict[str, StsPairs] = field(default_factory=dict)  # more STS sets, by name (beside ``sts``)
    retrieval: RetrievalData = field(default_factory=RetrievalData)


def _pairs(sts: StsPairs) -> dict[str, Any]:
    return {"s1": sts.sentences1, "s2": sts.sentences2, "scores": sts.scores}


def length_groups(sentences: list[str]) -> dict[str, list[str]]:
    words = [(len(s.split()), s) for s in sentences]
    return {"short (<=8 words)": [s for n, s in words if n <= 8],
            "medium (9-20 words)": [s for n, s in words if 9 <= n <= 20],
            "long (>20 words)": [s for n, s in words if n > 20]}


def onnx_file_for(spec: ModelSpec, profile: Profile) -> str:
    if spec.file:
        return spec.file
    from export.artifact.host import host_target
    from export.artifact.layout import choose_file

    return choose_file(Path(spec.path), host_target() if profile.quant_target == "auto" else profile.quant_target,
                       runtime=spec.runtime)


def model_file(spec: ModelSpec, profile: Profile) -> str | None:
    """The file a model runs on a profile: for our ONNX artifacts the profile's int8 file unless one is named."""
    return onnx_file_for(spec, profile) if spec.kind == "onnx" else spec.file


def size_mb(spec: ModelSpec, file: str | None) -> float:
    if spec.kind in ("onnx", "st-onnx", "st-openvino") and file:
        base = Path(spec.path) / file
        files = [*base.parent.glob(base.name + "*"), *([base.with_suffix(".bin")] if base.suffix == ".xml" else [])]
        return sum(p.stat().st_size for p in files if p.is_file()) / 1e6
    from compress.models import resolve_model

    folder = Path(resolve_model(spec.path))
    return sum(p.stat().st_size for p in folder.rglob("*") if p.suffix in WEIGHT_SUFFIXES) / 1e6


def _runtime_of(model: ModelSpec, file: str | None) -> str:
    """The runtime a file runs on: ours by its suffix; sentence-transformers' ONNX backend runs onnxruntime."""
    if model.kind == "onnx" and file:
        from export.artifact.layout import runtime_of

        return runtime_of(file).value
    return {"st-onnx": "onnxruntime", "st-openvino": "openvino", "model2vec": "numpy (model2vec)"}.get(model.kind,
                                                                                                        "torch")


def _run_worker(spec: dict[str, Any], folder: Path, timeout: float) -> dict[str, Any]:
    started = time.time()
    result, error = spawn("compress.bench.worker", spec, folder / "spec.json", timeout)
    if error is not None:
        return {"status": "error", "error": error}
    result["cold_start_s"] = result.pop("first_embedding_at") - started
    result["status"] = "ok"
    return result


def model_prompts(model: ModelSpec) -> Prompts:
    """The query/document prompts the model's own config names (Model2Vec folders have none)."""
    from compress.models import resolve_model

    return Prompts() if model.kind == "model2vec" else read_prompts(Path(resolve_model(model.path)))


def measure_one(model: ModelSpec, profile: Profile, data: BenchData, settings: BenchConfig,
                folder: Path, accuracy: bool = True, encode: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Latency, throughput and memory of one model on one profile; STS and held-back embeddings if ``accuracy``,
    and the retrieval texts of ``encode`` (``compress.bench.retrieval.evaluate.encode_requests``)."""
    entry: dict[str, Any] = {"model": model.label, "kind": model.kind, "profile": profile.name,
                             "teacher": model.teacher, "peer": model.peer, "threads": profile.threads,
                             "cores": list(profile.cores or [])}
    ok, reason = profile.runnable()
    if not ok:
        return {**entry, "status": reason}
    file = model_file(model, profile)
    entry.update({"file": file, "size_mb": size_mb(model, file), "runtime": _runtime_of(model, file)})
    sts = data.sts if accuracy else None
    spec = {"kind": model.kind, "path": model.path, "file": file, "label": model.label, "threads": profile.thread_count,
            "cores": list(profile.cores or []), "sentences": data.sentences,
            "heldback": data.heldback if accuracy else [],
            "latency_calls": settings.latency_calls, "warmup": settings.warmup,
            "throughput_batches": settings.throughput_batches, "throughput_seconds": settings.throughput_seconds,
            "batch_sizes": list(BATCH_SIZES),
            "length_groups": data.length_groups,
            "sts": _pairs(sts) if sts else None,
            "sts_sets": {n: _pairs(p) for n, p in data.sts_sets.items()} if accuracy else {},
            "encode": encode or [], "embeddings_out": str(folder / "heldback.npy"), "as_users_call": True}
    if encode:
        log.info("%s: embedding %d retrieval text(s) not in the cache yet", model.label,
                 sum(len(r["texts"]) for r in encode))
    entry.update(_run_worker(spec, folder, TIMEOUT_S))
    return entry


def _fp32_of(entries: list[dict[str, Any]], i: int, embeddings: dict[int, np.ndarray],
             by_label: dict[str, ModelSpec]) -> int | None:
    """The entry measuring the same artifact's fp32 file on the same profile."""
    path = by_label[entries[i]["model"]].path
    return next((j for j, e in enumerate(entries) if j in embeddings and e["profile"] == entries[i]["profile"]
                 and e.get("file") == FP32 and by_label[e["model"]].path == path), None)


def add_accuracy(entries: list[dict[str, Any]], embeddings: dict[int, np.ndarray], models: list[ModelSpec]) -> None:
    """Retention vs the teacher's STS, cosine to the teacher's embeddings (else to the same artifact's fp32).
    Without a teacher there is no retention: no other model's score is a stand-in for it."""
    by_label = {m.label: m for m in models}
    teacher_label = next((m.label for m in models if m.teacher), None)
    for i, entry in enumerate(entries):
        if i not in embeddings:
            continue
        t_index = next((j for j, e in enumerate(entries)
                        if e["model"] == teacher_label and e["profile"] == entry["profile"]), None)
        reference, against = None, None
        if t_index in embeddings and embeddings[t_index].shape[1] == embeddings[i].shape[1]:
            reference, against = embeddings[t_index], "teacher"
        elif (fp32 := _fp32_of(entries, i, embeddings, by_label)) is not None:
            reference, against = embeddings[fp32], "fp32 student"
        if reference is not None:
            mean, p5 = cosine_summary(embeddings[i], reference)
            entry["cosine"] = {"against": against, "mean": mean, "p5": p5}
        teacher_sts = entries[t_index].get("sts_spearman") if t_index is not None else None
        if teacher_sts and entry.get("sts_spearman") is not None:
            entry["retention_percent"] = 100 * entry["sts_spearman"] / teacher_sts
        teacher_sets = entries[t_index].get("sts_sets", {}) if t_index is not None and t_index != i else {}
        for name, result in entry.get("sts_sets", {}).items():
            if teacher_sets.get(name, {}).get("spearman"):
                result["retention_percent"] = 100 * result["spearman"] / teacher_sets[name]["spearman"]


ACCURACY_KEYS = ("sts_spearman", "retention_percent", "cosine", "sts_sets", "retrieval", "index", "batch_invariance")


def copy_accuracy(entries: list[dict[str, Any]], source: dict[int, int]) -> None:
    """Give each entry whose file was scored on an earlier profile that profile's scores (``accuracy_from``)."""
    for i, j in source.items():
        entries[i].update({k: entries[j][k] for k in ACCURACY_KEYS if k in entries[j]})
        entries[i]["accuracy_from"] = entries[j]["profile"]


def run_bench(models: list[ModelSpec], profiles: list[Profile], data: BenchData,
              settings: BenchConfig, show_progress: bool = True) -> list[dict[str, Any]]:
    """Every model on every (native) profile: the entries of ``measure_native``."""
    return measure_native(models, profiles, data, settings, show_progress)[0]


def measure_native(models: list[ModelSpec], profiles: list[Profile], data: BenchData, settings: BenchConfig,
                   show_progress: bool = True) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
    """Every model on every profile, and the held-back embeddings by entry. Accuracy (STS, retrieval, held-back
    embeddings) depends on the file, not the threads: it is measured on the first profile that runs a file and
    copied to the later ones, which saves the slow teacher encoding the test sets again on each profile."""
    entries: list[dict[str, Any]] = []
    embeddings: dict[int, np.ndarray] = {}
    encoded: dict[int, dict[str, Encoded]] = {}  # entry -> retrieval set -> its embeddings on disk
    scored: dict[tuple[str, str | None], int] = {}  # (path, file) -> entry holding its accuracy
    source: dict[int, int] = {}
    prompts_of = {m.label: model_prompts(m) for m in models}  # each model's config read once
    bar = progress_bar(total=len(models) * len(profiles), desc="bench", enabled=show_progress, unit="runs")
    with tempfile.TemporaryDirectory(prefix="st-compress-bench-") as tmp:
        for p_index, profile in enumerate(profiles):
            for m_index, model in enumerate(models):
                folder = Path(tmp) / f"{p_index}-{m_index}"
                folder.mkdir()
                log.info("measuring %s on %s", model.label, profile.name)
                file = model_file(model, profile) if profile.runnable()[0] else None
                earlier = scored.get((model.path, file))
                prompts = prompts_of[model.label]
                planned = (plan(model.path, file, model.kind, prompts, data.retrieval, Path(tmp) / "scratch")
                           if earlier is None and data.retrieval.sets and profile.runnable()[0] else {})
                requests = encode_requests(planned, data.retrieval, prompts, model.kind) if planned else []
                entry = measure_one(model, profile, data, settings, folder, earlier is None, requests)
                if entry["status"] == "ok" and earlier is None:
                    embeddings[len(entries)] = np.load(folder / "heldback.npy")
                    scored[(model.path, file)] = len(entries)
                    if planned:
                        encoded[len(entries)] = planned
                elif entry["status"] == "ok" and earlier is not None:
                    source[len(entries)] = earlier
                entries.append(entry)
                crash_point("bench-model")
                bar.update(1)
        bar.close()
        add_accuracy(entries, embeddings, models)
        teacher = next((m.label for m in models if m.teacher), None)
        add_retrieval(entries, encoded, teacher, data.retrieval,
                      {i: prompts_of[entries[i]["model"]].similarity != "dot" for i in encoded})
    copy_accuracy(entries, source)
    return entries, embeddings
