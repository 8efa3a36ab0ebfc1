"""Run sentence-transformers' trainer on the cached teacher targets (and STS pairs for the task loss).

Going through ``SentenceTransformerTrainer`` means several GPUs work with accelerate/torchrun unchanged.
Checkpoints go to ``work_dir/checkpoints``; a rerun with the same ``work_dir`` resumes from the last one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compress.config import Precision, SelectBy, TrainConfig
from compress.data.sts import StsPairs
from compress.distill.losses.composite import DistillLoss
from compress.distill.train.callbacks import (
    EvaluateAtEndCallback,
    LossGradSyncCallback,
    LossStateCallback,
    ProgressLogCallback,
    ScheduleCallback,
    restore_loss_state,
)
from compress.distill.train.evaluator import DistillEvaluator
from compress.precision import resolve
from compress.progress import progress_enabled, progress_logged

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainData:
    sentences: list[str]
    targets: np.ndarray
    val_sentences: list[str]
    val_targets: np.ndarray
    sts_dev: StsPairs | None = None
    sts_train: StsPairs | None = None
    val_passages: list[str] | None = None  # held-back passages: reported (validation.passages), not for selection
    val_passage_targets: np.ndarray | None = None
    val_queries: list[str] | None = None  # held-back query-shaped texts: reported (validation.queries)
    val_query_targets: np.ndarray | None = None


@dataclass(frozen=True)
class TrainOutcome:
    log_history: list[dict[str, Any]]
    best_checkpoint: str | None
    best_metric: float | None
    steps: int
    seconds: float
    resumed_from: str | None


def _datasets(data: TrainData, distill: DistillLoss | None, task: nn.Module | None) -> tuple[Any, Any]:
    from datasets import Dataset

    datasets: dict[str, Any] = {}
    losses: dict[str, Any] = {}
    if distill is not None:
        table, fingerprint = label_table(data.sentences, data.targets)
        datasets["distill"] = Dataset(table, fingerprint=fingerprint)
        losses["distill"] = distill
    if task is not None and data.sts_train is not None:
        pairs = data.sts_train
        datasets["task"] = Dataset.from_dict({"sentence1": pairs.sentences1, "sentence2": pairs.sentences2,
                                              "score": pairs.normalized_scores()})
        losses["task"] = task
    if len(datasets) == 1:
        (name,) = datasets
        return datasets[name], losses[name]
    return datasets, losses


def label_table(sentences: list[str], targets: np.ndarray) -> tuple[Any, str]:
    """The texts and their target rows as an Arrow table (the rows copied once, as float32), and its fingerprint.

    Through Python lists into ``Dataset.from_dict`` 60,000 x 768 targets added 4.6 GB at peak; the table alone adds
    the rows' 184 MB, and a fingerprint computed here spares ``datasets`` from serializing the table to hash it
    (another 1 GB at peak; benchmarks/results/label_memory.md)."""
    import hashlib

    import pyarrow as pa

    rows = np.ascontiguousarray(targets, dtype=np.float32)
    labels = pa.FixedSizeListArray.from_arrays(pa.array(rows.reshape(-1)), rows.shape[1])
    digest = hashlib.blake2b(rows.tobytes(), digest_size=16)
    for text in sentences:
        digest.update(text.encode("utf-8") + b"\n")
    return pa.table({"sentence": pa.array(sentences, pa.string()), "label": labels}), digest.hexdigest()


def _arguments(config: TrainConfig, output_dir: Path, has_sts_dev: bool, device_type: str) -> Any:
    """``device_type``: where the student is (``cpu``, ``cuda``, ``mps``): bf16 is resolved for it."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    from compress.distill.train.sampler import LengthGroupedBatchSampler

    select = config.select_by
    if select is SelectBy.STS_DEV and not has_sts_dev:
        select = SelectBy.COSINE
    bf16 = resolve(config.precision, device_type) is Precision.BF16
    sampler = LengthGroupedBatchSampler if config.group_by_length else BatchSamplers.BATCH_SAMPLER
    return SentenceTransformerTrainingArguments(
        output_dir=str(output_dir), num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_ratio=config.warmup_ratio, weight_decay=config.weight_decay,
        eval_strategy="steps", eval_steps=config.eval_steps, save_strategy="steps", save_steps=config.eval_steps,
        save_total_limit=config.save_total_limit, load_best_model_at_end=True,
        metric_for_best_model=f"eval_distill_{select.value}", greater_is_better=select is not SelectBy.MSE,
        logging_steps=max(1, min(50, config.eval_steps // 2)), seed=config.seed, data_seed=config.seed,
        report_to="none", disable_tqdm=not progress_enabled(), use_cpu=device_type == "cpu",
        dataloader_drop_last=False, save_safetensors=True, bf16=bf16, batch_sampler=sampler,
    )


def train_student(student: SentenceTransformer, distill: DistillLoss | None, task: nn.Module | None,
                  data: TrainData, config: TrainConfig, work_dir: Path,
                  extra_callbacks: list[Any] | None = None) -> TrainOutcome:
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import PrinterCallback
    from transformers.trainer_utils import get_last_checkpoint

    student.model_card_data.generate_widget_examples = False  # it embeds examples at every save: slow, noisy
    checkpoints = work_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    train_dataset, loss = _datasets(data, distill, task)
    queries = (data.val_queries, data.val_query_targets) \
        if data.val_queries and data.val_query_targets is not None else None
    evaluator = DistillEvaluator(data.val_sentences, data.val_targets, data.sts_dev,
                                 primary=config.select_by.value, batch_size=config.batch_size, queries=queries)
    callbacks: list[Any] = [EvaluateAtEndCallback(), *(extra_callbacks or [])]
    if progress_logged():
        callbacks.append(ProgressLogCallback())
    if distill is not None:
        callbacks += [ScheduleCallback(distill), LossStateCallback(distill), LossGradSyncCallback(distill)]
    args = _arguments(config, checkpoints, data.sts_dev is not None, student.device.type)
    trainer = SentenceTransformerTrainer(model=student, args=args, train_dataset=train_dataset, loss=loss,
                                         evaluator=evaluator, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # it prints logs to stdout; stdout is for results
    last = get_last_checkpoint(str(checkpoints))
    if last and distill is not None:
        restore_loss_state(distill, Path(last))
    if last:
        log.info("resuming training from %s", last)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    state = trainer.state
    return TrainOutcome(log_history=list(state.log_history), best_checkpoint=state.best_model_checkpoint,
                        best_metric=state.best_metric, steps=state.global_step, seconds=seconds,
                        resumed_from=last)
