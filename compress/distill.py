"""The distillation stage: ``distill(config)`` loads everything, ``distill_from_model`` does the work."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compress.cache import teacher_embeddings, teacher_key
from compress.config import Config
from compress.data import Corpus, StsPairs, load_corpus, load_sts
from compress.handoff import KEY as HANDOFF
from compress.handoff import REPORT_NAME, Handoff
from compress.io import building_dir, write_json_atomic
from compress.losses import build_losses
from compress.models import has_normalize, load_sentence_transformer
from compress.precision import resolve
from compress.report import build_report
from compress.students import build_student
from compress.students.prompts import chosen, hand_on, prompted, teacher_prompts
from compress.train.trainer import TrainData, train_student

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class StsSplits:
    train: StsPairs | None = None
    dev: StsPairs | None = None
    test: StsPairs | None = None


@dataclass(frozen=True)
class DistillResult:
    student_dir: Path
    report_path: Path
    report: dict[str, Any]
    work_dir: Path | None = None  # training checkpoints (for resuming an interrupted distillation)


def _optional_sts(path: str | None) -> StsPairs | None:
    return load_sts(Path(path)) if path else None


def distill(config: Config, out_dir: Path) -> DistillResult:
    """Load the teacher and the data named in ``config``, then distill (see ``distill_from_model``)."""
    data = config.data
    corpus = load_corpus(Path(data.corpus), data.column, data.max_sentences, data.validation_sentences, data.seed)
    sts = StsSplits(_optional_sts(data.sts_train if config.loss.task > 0 else None),
                    _optional_sts(data.sts_dev), _optional_sts(data.sts_test))
    teacher = load_sentence_transformer(config.teacher.model, config.train.device, config.teacher.trust_remote_code)
    if config.teacher.max_seq_length:
        teacher.max_seq_length = config.teacher.max_seq_length
    return distill_from_model(teacher, corpus, sts, config, out_dir)


def _work_dir(config: Config, corpus_hash: str, teacher_digest: str) -> Path:
    settings = {k: v for k, v in config.to_dict().items() if k in ("teacher", "data", "student", "loss", "train")}
    blob = json.dumps({"settings": settings, "corpus": corpus_hash, "teacher": teacher_digest}, sort_keys=True)
    return Path(config.output.cache_dir) / "runs" / hashlib.sha256(blob.encode()).hexdigest()[:16]


def distill_from_model(teacher: SentenceTransformer, corpus: Corpus, sts: StsSplits, config: Config,
                       out_dir: Path) -> DistillResult:
    """Embed the corpus with ``teacher`` (cached), build and train the student, save it with a report."""
    import torch

    torch.manual_seed(config.train.seed)
    start = time.perf_counter()
    raw_validation = corpus.validation
    corpus = prompted(corpus, chosen(teacher_prompts(teacher), config.teacher.prompts))
    cache_dir = Path(config.output.cache_dir)
    fingerprint = corpus.fingerprint()
    precision = resolve(config.teacher.precision, teacher.device.type)
    targets = teacher_embeddings(teacher, corpus.all, fingerprint, cache_dir, config.teacher.batch_size,
                                 config.teacher.chunk_size, config.output.progress, precision)
    teacher_seconds = time.perf_counter() - start
    n_train = len(corpus.train)
    train_targets, val_targets = np.asarray(targets[:n_train]), np.asarray(targets[n_train:])
    built = build_student(config.student, teacher, corpus.train, train_targets, config.teacher.trust_remote_code)
    student = built.model
    if config.train.max_seq_length:
        student.max_seq_length = config.train.max_seq_length
    if built.pca is not None:
        normalize = has_normalize(student)
        train_targets = built.pca.transform(train_targets, normalize)
        val_targets = built.pca.transform(val_targets, normalize)
    distill_loss, task_loss = build_losses(config.loss, student, teacher, built.teacher_layers)
    data = TrainData(corpus.train, train_targets, corpus.validation, val_targets, sts.dev, sts.train)
    work_dir = _work_dir(config, fingerprint, teacher_key(teacher, fingerprint, precision).digest())
    hand_on(teacher, student)
    outcome = train_student(student, distill_loss, task_loss, data, config.train, work_dir)
    if distill_loss is not None and distill_loss.student_taps is not None:
        distill_loss.student_taps.remove()
    report = build_report(teacher, built, data, sts.dev, sts.test, outcome, config, cache_dir)
    report["timing"] = {"teacher_embedding_seconds": teacher_seconds, "wall_seconds": time.perf_counter() - start}
    report[HANDOFF] = Handoff(raw_validation, config.student.kind.value, built.teacher_layers).to_dict()
    _save_atomic(student, built.pca, report, out_dir)
    return DistillResult(out_dir, out_dir / REPORT_NAME, report, work_dir)


def _save_atomic(student: SentenceTransformer, pca: Any, report: dict[str, Any], out_dir: Path) -> None:
    """Write the student folder and report beside ``out_dir``, then rename it into place."""
    with building_dir(out_dir) as tmp:
        student.save(str(tmp))
        if pca is not None:
            pca.save(tmp)
        write_json_atomic(tmp / REPORT_NAME, report)
