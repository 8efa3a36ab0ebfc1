"""The distillation report: sizes, losses, curves, STS scores of teacher and student, retention, speed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compress.config import LOSS_WEIGHTS
from compress.data.sts import StsPairs
from compress.distill.teacher_cache import EncodeFn, teacher_encoder, teacher_key, weights_fingerprint
from compress.distill.teacher_runtime import PARITY_TEXTS, config_runtime
from compress.enums import Precision, TeacherRuntime
from compress.io import write_json_atomic
from compress.metrics import STS_BATCH, fidelity, sts_spearman, sts_spearman_from_embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from compress.config import Config
    from compress.distill.students import BuiltStudent
    from compress.distill.train.trainer import TrainData, TrainOutcome


def describe_model(model: SentenceTransformer) -> dict[str, Any]:
    first: Any = model[0]
    config = getattr(getattr(first, "auto_model", None), "config", None)  # None: a static student
    return {"parameters": sum(p.numel() for p in model.parameters()),
            "dim": model.get_embedding_dimension(),
            "layers": getattr(config, "num_hidden_layers", None) if config is not None else 0,
            "hidden_size": getattr(config, "hidden_size", None) if config is not None
            else first.get_embedding_dimension(),
            "max_seq_length": model.max_seq_length}


def teacher_sts_path(teacher: SentenceTransformer, name: str, pairs: StsPairs, cache_dir: Path,
                     runtime: TeacherRuntime = TeacherRuntime.TORCH) -> Path:
    """Where the teacher's score on ``pairs`` is cached (by teacher key, runtime and pair content)."""
    content = json.dumps([pairs.sentences1, pairs.sentences2, pairs.scores]).encode()
    key = teacher_key(teacher, hashlib.sha256(content).hexdigest(), runtime=runtime).digest()
    return cache_dir / "scores" / f"{key}-{name}.json"


def teacher_sts_encoder(teacher: SentenceTransformer, runtime: TeacherRuntime, cache_dir: Path,
                        probe: list[str]) -> tuple[EncodeFn, TeacherRuntime]:
    """How the teacher's STS scores are embedded: fp32 (its own score, whatever precision the cache used), on the
    runtime the cache resolved to (onnxruntime where it holds parity)."""
    return teacher_encoder(teacher, weights_fingerprint(teacher), Precision.FP32, STS_BATCH, runtime, cache_dir,
                           probe)


def _teacher_sts(teacher: SentenceTransformer, name: str, pairs: StsPairs, runtime: TeacherRuntime,
                 cache_dir: Path) -> float:
    """Teacher STS scores are cached by teacher key and pair content: they are the same for every student."""
    runtime = runtime.exact  # the teacher's own score, not its int8 graph's
    path = teacher_sts_path(teacher, name, pairs, cache_dir, runtime)
    if path.exists():
        return float(json.loads(path.read_text())["spearman"])
    encode, resolved = teacher_sts_encoder(teacher, runtime, cache_dir, pairs.sentences1[:PARITY_TEXTS])
    path = teacher_sts_path(teacher, name, pairs, cache_dir, resolved)
    score = sts_spearman_from_embeddings(encode(pairs.sentences1), encode(pairs.sentences2), pairs)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"spearman": score})
    return score


def _curves(log_history: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    train = [entry for entry in log_history if "loss" in entry]
    validation = [entry for entry in log_history if any(k.startswith("eval_") for k in entry)]
    return {"train": train, "validation": validation}


def build_report(teacher: SentenceTransformer, built: BuiltStudent, data: TrainData, sts_dev: StsPairs | None,
                 sts_test: StsPairs | None, outcome: TrainOutcome, config: Config,
                 cache_dir: Path) -> dict[str, Any]:
    student = built.model
    scores: dict[str, dict[str, float]] = {"teacher": {}, "student": {}, "retention_percent": {}}
    for name, pairs in (("sts_dev", sts_dev), ("sts_test", sts_test)):
        if pairs is None:
            continue
        t_score = _teacher_sts(teacher, name, pairs, config_runtime(config), cache_dir)
        s_score = sts_spearman(student, pairs)
        scores["teacher"][name], scores["student"][name] = t_score, s_score
        scores["retention_percent"][name] = 100 * s_score / t_score if t_score else float("nan")
    val: dict[str, Any] = {}
    if data.val_sentences:
        emb = student.encode(data.val_sentences, convert_to_numpy=True, show_progress_bar=False)
        val = fidelity(emb, np.asarray(data.val_targets))
    for name, texts, targets in (("passages", data.val_passages, data.val_passage_targets),
                                 ("queries", data.val_queries, data.val_query_targets)):
        if texts and targets is not None:
            emb = student.encode(texts, convert_to_numpy=True, show_progress_bar=False)
            val[name] = {"held_back": len(texts), **fidelity(emb, np.asarray(targets))}
    epochs = config.train.epochs
    return {
        "schema": "st-compress/distill_report/1",
        "teacher": {"model": config.teacher.model, **describe_model(teacher)},
        "student": {"kind": config.student.kind.value, "description": built.description, **describe_model(student),
                    "pca": None if built.pca is None
                    else {"explained_variance_ratio": built.pca.explained_variance_ratio}},
        "losses": {k: v for k, v in config.to_dict()["loss"].items() if k in LOSS_WEIGHTS and v > 0},
        "sts_spearman": scores,
        "validation": {"held_back_sentences": len(data.val_sentences),
                       "targets": "teacher (PCA-reduced)" if built.pca is not None else "teacher", **val},
        "curves": _curves(outcome.log_history),
        "training": {"sentences": len(data.sentences), "passages": config.data.passages,
                     "queries": config.data.queries, "epochs": epochs,
                     "steps": outcome.steps, "seconds": outcome.seconds,
                     "sentences_per_second": (len(data.sentences) * epochs / outcome.seconds
                                              if outcome.seconds else None),
                     "best_checkpoint": outcome.best_checkpoint, "best_metric": outcome.best_metric,
                     "resumed_from": outcome.resumed_from},
        "config": config.to_dict(),
    }
