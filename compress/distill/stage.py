"""The distillation stage: ``distill(config)`` loads everything, ``distill_from_model`` does the work."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compress.config import Config, SelectBy
from compress.data import Corpus, StsPairs, corpus_of, load_sts
from compress.dist import ranks
from compress.distill.distill_report import build_report
from compress.distill.losses import build_losses
from compress.distill.prior import prior_embeddings
from compress.distill.students import build_student
from compress.distill.students.prompts import chosen, hand_on, prompted, teacher_prompts
from compress.distill.students.refit import HeldBack, Refit, refit_projection
from compress.distill.targets import Targets, checked_tokens, teacher_targets, training_labels
from compress.distill.teacher_cache import teacher_key
from compress.distill.teacher_runtime import resolve_runtime
from compress.distill.train.trainer import TrainData, train_student
from compress.handoff import KEY as HANDOFF
from compress.handoff import REPORT_NAME, Handoff
from compress.io import building_dir, write_json_atomic
from compress.models import has_normalize, load_sentence_transformer
from compress.precision import resolve

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
    corpus = corpus_of(data)
    sts = StsSplits(_optional_sts(data.sts_train if config.loss.weight("task") > 0 else None),
                    _optional_sts(data.sts_dev), _optional_sts(data.sts_test))
    teacher = load_sentence_transformer(config.teacher.model, config.train.device, config.teacher.trust_remote_code)
    if config.teacher.max_seq_length:
        teacher.max_seq_length = config.teacher.max_seq_length
    return distill_from_model(teacher, corpus, sts, config, out_dir)


def _work_dir(config: Config, corpus: Corpus, teacher: SentenceTransformer) -> Path:
    """The training checkpoints' folder: keyed by the settings, the texts and the teacher's cache key."""
    fingerprint = corpus.fingerprint() + (corpus.passage_fingerprint() if corpus.all_passages else "") + \
        (corpus.query_fingerprint() if corpus.all_queries else "")
    precision = resolve(config.teacher.precision, teacher.device.type)
    runtime = resolve_runtime(config.teacher.runtime, config.teacher.precision, teacher.device.type)
    teacher_digest = teacher_key(teacher, corpus.fingerprint(), precision, runtime=runtime).digest()
    settings = {k: v for k, v in config.key_dict().items() if k in ("teacher", "data", "student", "loss", "train")}
    settings["student"] = {k: v for k, v in settings["student"].items() if k != "refit"}  # after training: same run
    blob = json.dumps({"settings": settings, "corpus": fingerprint, "teacher": teacher_digest}, sort_keys=True)
    return Path(config.output.cache_dir) / "runs" / hashlib.sha256(blob.encode()).hexdigest()[:16]


def _warn_if_cut(student: SentenceTransformer, passage_tokens: int) -> None:
    if (student.max_seq_length or 0) < passage_tokens:
        log.warning("the student reads %s tokens, the teacher embedded passages at up to %d: long passages are "
                    "cut for the student only (raise train.max_seq_length or lower data.passage_max_tokens)",
                    student.max_seq_length, passage_tokens)


def distill_from_model(teacher: SentenceTransformer, corpus: Corpus, sts: StsSplits, config: Config,
                       out_dir: Path) -> DistillResult:
    """Embed the corpus with ``teacher`` (cached), build and train the student, save it with a report."""
    import torch

    torch.manual_seed(config.train.seed)
    start = time.perf_counter()
    raw_validation = corpus.validation
    corpus = prompted(corpus, chosen(teacher_prompts(teacher), config.teacher.prompts))
    cache_dir = Path(config.output.cache_dir)
    targets = teacher_targets(teacher, corpus, config)
    teacher_seconds = time.perf_counter() - start
    built = build_student(config.student, teacher, corpus.train, targets.train, config.teacher.trust_remote_code)
    student = built.model
    if config.train.max_seq_length:
        student.max_seq_length = config.train.max_seq_length
    if corpus.passages:
        _warn_if_cut(student, config.data.passage_max_tokens)
    if built.pca is not None:
        pca, normalize = built.pca, has_normalize(student)
        targets = targets.transformed(lambda a: pca.transform(a, normalize))
    targets = checked_tokens(targets, student, teacher, corpus.train)
    prior = prior_embeddings(config, corpus.training_texts) if config.loss.weight("keep") > 0 else None
    distill_loss, task_loss = build_losses(config.loss, student, teacher, built.teacher_layers, targets.tokens,
                                           0 if prior is None else prior.shape[1])
    data = TrainData(corpus.training_texts, training_labels(targets, prior), corpus.validation,
                     targets.validation, sts.dev, sts.train, corpus.validation_passages, targets.validation_passages,
                     corpus.validation_queries, targets.validation_queries)
    work_dir = _work_dir(config, corpus, teacher)
    hand_on(teacher, student)
    outcome = train_student(student, distill_loss, task_loss, data, config.train, work_dir)
    if distill_loss is not None and distill_loss.student_taps is not None:
        distill_loss.student_taps.remove()
    if not ranks().main:  # under torchrun: rank 0 evaluates and saves the (identical) student
        return DistillResult(out_dir, out_dir / REPORT_NAME, {}, work_dir)
    refit = _refit(student, corpus, targets, data, config) if config.student.refit else None
    report = build_report(teacher, built, data, sts.dev, sts.test, outcome, config, cache_dir)
    if refit is not None:
        report["refit"] = refit.to_dict()
    if config.loss.weight("tokens") > 0:
        report["losses"]["tokens_used"] = targets.tokens is not None
    report["timing"] = {"teacher_embedding_seconds": teacher_seconds, "wall_seconds": time.perf_counter() - start}
    report[HANDOFF] = Handoff(raw_validation, config.student.kind.value, built.teacher_layers).to_dict()
    _save_atomic(student, built.pca, report, out_dir)
    return DistillResult(out_dir, out_dir / REPORT_NAME, report, work_dir)


def _refit(student: SentenceTransformer, corpus: Corpus, targets: Targets, data: TrainData,
           config: Config) -> Refit | None:
    """``student.refit``: the projection solved on every training text, judged on the held-back texts that chose
    the checkpoint (queries under ``train.select_by = "query_cosine"``, else sentences)."""
    if config.train.select_by is SelectBy.QUERY_COSINE and data.val_queries and data.val_query_targets is not None:
        held = HeldBack("queries", data.val_queries, data.val_query_targets)
    else:
        held = HeldBack("sentences", data.val_sentences, data.val_targets)
    return refit_projection(student, corpus.training_texts, targets.training, held)


def _save_atomic(student: SentenceTransformer, pca: Any, report: dict[str, Any], out_dir: Path) -> None:
    """Write the student folder and report beside ``out_dir``, then rename it into place."""
    with building_dir(out_dir) as tmp:
        student.save(str(tmp))
        if pca is not None:
            pca.save(tmp)
        write_json_atomic(tmp / REPORT_NAME, report)
