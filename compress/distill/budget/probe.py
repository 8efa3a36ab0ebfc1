"""Measure, in about a minute, what the distill stage's parts cost on this machine with this recipe.

On a small random sample of the corpus (with ``data.sampling = "coverage"``, of the coverage sample, whose
sentences are longer): the teacher's pass as the cache runs it (its runtime, batch size,
precision and length; passages at ``data.passage_max_tokens``; exporting the teacher for onnxruntime, once per
teacher, is part of the probe), then 16 steps of the real trainer on the student the recipe
builds (its loss, precision and batching; the first 3, with the one-time setup, are not counted), then the
student's encoding speed, from which the evaluations are estimated (each one embeds the held-back sentences, the
STS dev pairs and the held-back passages), where the teacher's own STS scores are not cached yet, the speed
of the fp32 teacher on a few sentences as the report scores it, and with ``loss.keep`` the published student's
own pass over the training texts (``compress.distill.prior``, run the way the teacher's is). Nothing the probe
computes is cached: its sentences are not the run's.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compress.config import Config, DataConfig
from compress.distill.budget.plan import BASE_SENTENCES, Costs
from compress.enums import Sampling

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PROBE_STEPS = 16  # training steps run; the first WARM_STEPS (one-time setup, first allocations) are not timed
WARM_STEPS = 3
PROBE_PASSAGES = 24
SAVE_S = 2.0  # one checkpoint save, at every evaluation (seconds; a small student and its optimizer state)


@dataclass(frozen=True)
class Throughput:
    teacher_per_s: float  # sentences/s, on the runtime the cache uses
    passage_teacher_per_s: float | None  # passages/s, when the recipe has passages
    train_per_s: float  # training sentences/s in steady steps
    student_per_s: float  # the student's encoding (evaluations), sentences/s
    load_s: float  # loading the teacher and building the student
    teacher_sts_s: float  # the report's teacher STS scores (fp32, not cached yet; 0 when they are)
    probe_s: float  # the whole probe
    prior_per_s: float | None = None  # loss.keep: the published student's pass, sentences/s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(texts: list[str], encode: Any) -> tuple[float, Any]:
    """Texts/s of ``encode`` over ``texts`` (after a warm-up call), and what it returned."""
    encode(texts[:8])  # warm-up: first-call allocations
    start = time.perf_counter()
    out = encode(texts)
    return len(texts) / (time.perf_counter() - start), out


def _teacher_encode(teacher: SentenceTransformer, texts: list[str], config: Config) -> Any:
    """The encode function the cache will use: onnxruntime or PyTorch (``teacher.runtime``), at the precision."""
    from compress.distill.teacher_cache import teacher_encoder, weights_fingerprint
    from compress.distill.teacher_runtime import resolve_runtime

    t = config.teacher
    runtime = resolve_runtime(t.runtime, t.precision, teacher.device.type)
    return teacher_encoder(teacher, weights_fingerprint(teacher), t.precision, t.batch_size, runtime,
                           Path(config.output.cache_dir), texts)[0]


def _uncached_sts_texts(teacher: SentenceTransformer, config: Config) -> int:
    """Sentences the report's teacher STS scores will embed: none where they are cached."""
    from compress.data import load_sts
    from compress.distill.distill_report import teacher_sts_path
    from compress.distill.teacher_runtime import config_runtime

    texts, runtime, cache_dir = 0, config_runtime(config), Path(config.output.cache_dir)
    for name, path in (("sts_dev", config.data.sts_dev), ("sts_test", config.data.sts_test)):
        if path and not teacher_sts_path(teacher, name, pairs := load_sts(Path(path)), cache_dir, runtime).exists():
            texts += 2 * len(pairs)
    return texts


def _teacher_sts_rate(teacher: SentenceTransformer, texts: list[str], config: Config) -> float:
    """Sentences/s of the report's teacher STS scoring (fp32, on the cache's runtime)."""
    from compress.distill.distill_report import teacher_sts_encoder
    from compress.distill.teacher_runtime import config_runtime

    encode, _ = teacher_sts_encoder(teacher, config_runtime(config), Path(config.output.cache_dir), texts)
    return _rate(texts, encode)[0]


def _teacher_rate(teacher: SentenceTransformer, texts: list[str], config: Config,
                  max_length: int | None) -> tuple[float, np.ndarray]:
    previous, teacher.max_seq_length = teacher.max_seq_length, max_length
    try:
        return _rate(texts, _teacher_encode(teacher, texts, config))
    finally:
        teacher.max_seq_length = previous


def _prior_rate(texts: list[str], config: Config) -> float:
    """Sentences/s of the published student's pass (``loss.keep``), with the teacher's pass settings."""
    from compress.models import load_sentence_transformer

    model = load_sentence_transformer(config.student.model, config.train.device, config.teacher.trust_remote_code)
    return _rate(texts, _teacher_encode(model, texts, config))[0]


def _train_rate(student: SentenceTransformer, teacher: SentenceTransformer, teacher_layers: list[int] | None,
                texts: list[str], targets: np.ndarray, config: Config) -> float:
    """Training sentences/s over ``PROBE_STEPS`` steps of the recipe's trainer (the first ``WARM_STEPS`` excluded)."""
    from transformers import TrainerCallback

    from compress.distill.losses import build_losses
    from compress.distill.train.trainer import TrainData, train_student

    class StepTimes(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.times.append(time.perf_counter())

    without_task = replace(config.loss, weights={**config.loss.weights, "task": 0.0})
    distill_loss, _ = build_losses(without_task, student, teacher, teacher_layers, None)
    timer = StepTimes()
    train = replace(config.train, epochs=1.0, eval_steps=10**6, budget_minutes=None)
    with tempfile.TemporaryDirectory(prefix="st-compress-probe-") as work:
        train_student(student, distill_loss, None, TrainData(texts, targets, texts[:32], targets[:32]), train,
                      Path(work), extra_callbacks=[timer])
    if distill_loss is not None and distill_loss.student_taps is not None:
        distill_loss.student_taps.remove()
    steady = timer.times[WARM_STEPS - 1:]  # from the end of the last warm-up step
    return config.train.batch_size * (len(steady) - 1) / (steady[-1] - steady[0])


def _like_coverage(data: DataConfig, count: int) -> list[str]:
    """``count`` sentences drawn at random from the coverage sample of ``BASE_SENTENCES`` (the plan's first size):
    texts as long as the run's, where the coverage sample's own first picks would be its longest."""
    from compress.data import sentences_of

    drawn = sentences_of(replace(data, max_sentences=BASE_SENTENCES, validation_sentences=0)).train
    return random.Random(data.seed).sample(drawn, min(count, len(drawn)))


def measure(config: Config) -> Throughput:
    """The probe; the student it trains is thrown away."""
    from compress.data import corpus_of
    from compress.distill.students import build_student
    from compress.models import load_sentence_transformer

    start = time.perf_counter()
    data = config.data
    sample = corpus_of(replace(data, max_sentences=PROBE_STEPS * config.train.batch_size, validation_sentences=0,
                               passages=min(data.passages, PROBE_PASSAGES), validation_passages=0,
                               sampling=Sampling.RANDOM))
    if data.sampling is Sampling.COVERAGE:  # the run's sentences are longer than a random draw's
        sample = replace(sample, train=_like_coverage(data, len(sample.train)))
    teacher = load_sentence_transformer(config.teacher.model, config.train.device, config.teacher.trust_remote_code)
    if config.teacher.max_seq_length:
        teacher.max_seq_length = config.teacher.max_seq_length
    loaded = time.perf_counter()
    teacher_per_s, targets = _teacher_rate(teacher, sample.train, config, teacher.max_seq_length)
    passage_per_s = _teacher_rate(teacher, sample.passages, config, data.passage_max_tokens)[0] \
        if sample.passages else None
    sts_texts = _uncached_sts_texts(teacher, config)
    teacher_sts_s = sts_texts / _teacher_sts_rate(teacher, sample.train[:64], config) if sts_texts else 0.0
    built_at = time.perf_counter()
    built = build_student(config.student, teacher, sample.train, targets, config.teacher.trust_remote_code)
    student = built.model
    if config.train.max_seq_length:
        student.max_seq_length = config.train.max_seq_length
    load_s = (loaded - start) + (time.perf_counter() - built_at)
    train_per_s = _train_rate(student, teacher, built.teacher_layers, sample.train, targets, config)
    student_per_s = _rate(sample.train, lambda b: student.encode(b, batch_size=config.train.batch_size))[0]
    prior_per_s = round(_prior_rate(sample.train, config), 2) if config.loss.weight("keep") > 0 else None
    found = Throughput(round(teacher_per_s, 2), None if passage_per_s is None else round(passage_per_s, 3),
                       round(train_per_s, 2), round(student_per_s, 1), round(load_s, 1), round(teacher_sts_s, 1),
                       round(time.perf_counter() - start, 1), prior_per_s)
    log.info("budget probe: teacher %.1f sentences/s, training %.1f sentences/s, student %.0f sentences/s (%.0f s)",
             found.teacher_per_s, found.train_per_s, found.student_per_s, found.probe_s)
    return found


def costs_of(found: Throughput, config: Config, dev_pairs: int) -> Costs:
    """Per-sentence and fixed seconds for ``compress.distill.budget.plan.choose``. A passage is taken to cost the
    student what it costs the teacher, relative to a sentence (both scale with its tokens). With ``loss.keep`` the
    published student's pass is paid per sentence beside the teacher's (held-back ones too: a slight over-estimate)
    and for the passages once."""
    data, train = config.data, config.train
    passage_ratio = found.teacher_per_s / found.passage_teacher_per_s if found.passage_teacher_per_s else 0.0
    eval_texts = data.validation_sentences + 2 * dev_pairs + data.validation_passages * passage_ratio
    eval_s = eval_texts / found.student_per_s + SAVE_S
    train_s = 1.0 / found.train_per_s + eval_s / (train.eval_steps * train.batch_size)
    passages_s = (data.passages + data.validation_passages) / found.passage_teacher_per_s \
        if found.passage_teacher_per_s else 0.0
    prior_s = 1.0 / found.prior_per_s if found.prior_per_s else 0.0
    passages_s += data.passages * passage_ratio * prior_s
    final_eval_s = 2 * eval_s  # the report's evaluations: STS dev and test, held-back sentences and passages
    return Costs(teacher_s=1.0 / found.teacher_per_s + prior_s, train_s=train_s,
                 fixed_s=found.load_s + passages_s + final_eval_s + found.teacher_sts_s,
                 passage_train_s=data.passages * passage_ratio / found.train_per_s)
