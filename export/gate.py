"""The accuracy gate: quantize, score, and retry with sensitive nodes excluded until it passes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from compress.data.sts import StsPairs
from compress.metrics import cosine_summary, sts_spearman_from_embeddings
from export.artifact.encoder import OnnxEncoder, TextEncoder
from export.artifact.layout import move_model, remove_model
from export.presets import QuantPreset
from export.sensitivity import (
    after_activation_matmuls,
    attention_with_bias,
    edge_layer_matmuls,
    embedding_lookups,
    node_errors,
)

log = logging.getLogger(__name__)

QuantizeFn = Callable[[Path, Path, QuantPreset], None]
MEASURED_ROUNDS = 2


@dataclass(frozen=True)
class Score:
    cosine_mean: float
    cosine_p5: float
    sts_dev_spearman: float | None
    retention_percent: float | None


@dataclass(frozen=True)
class Attempt:
    plan: str
    excluded: list[str]
    per_channel: bool
    score: Score
    passed: bool


class Scorer:
    """Scores an ONNX file against the fp32 export: cosine on held-back sentences, STS dev retention."""

    def __init__(self, fp32: Path, tokenizer_dir: Path, max_length: int, sentences: list[str],
                 sts: StsPairs | None) -> None:
        self.tokenizer_dir, self.max_length, self.sentences, self.sts = tokenizer_dir, max_length, sentences, sts
        encoder = self.encoder(fp32)
        self.reference = encoder.encode(sentences)
        self.fp32_spearman = self._spearman(encoder) if sts else None
        self.feeds = encoder.feeds(sentences[:16])

    def encoder(self, path: Path) -> TextEncoder:
        """onnxruntime for an ONNX file, OpenVINO for IR (``.xml``)."""
        if path.suffix == ".xml":
            from export.artifact.ov_encoder import OpenVinoEncoder

            return OpenVinoEncoder(path, self.tokenizer_dir, self.max_length)
        return OnnxEncoder(path, self.tokenizer_dir, self.max_length)

    def _spearman(self, encoder: TextEncoder) -> float | None:
        if self.sts is None:
            return None
        emb1, emb2 = encoder.encode(self.sts.sentences1), encoder.encode(self.sts.sentences2)
        return sts_spearman_from_embeddings(emb1, emb2, self.sts)

    def score(self, path: Path) -> Score:
        encoder = self.encoder(path)
        mean, p5 = cosine_summary(encoder.encode(self.sentences), self.reference)
        spearman = self._spearman(encoder)
        retention = None
        if spearman is not None and self.fp32_spearman and self.fp32_spearman > 0:  # else retention means nothing
            retention = 100 * spearman / self.fp32_spearman
        return Score(mean, p5, spearman, retention)


def _passes(score: Score, min_retention: float, min_cosine: float) -> bool:
    retention_ok = score.retention_percent is None or score.retention_percent >= min_retention
    return retention_ok and score.cosine_mean >= min_cosine


def _scored(plan: str, preset: QuantPreset, candidate: Path, scorer: Scorer, min_retention: float,
            min_cosine: float) -> Attempt:
    """The attempt that made ``candidate`` with ``preset``, scored and judged (and logged)."""
    score = scorer.score(candidate)
    attempt = Attempt(plan, list(preset.nodes_to_exclude), preset.per_channel, score,
                      _passes(score, min_retention, min_cosine))
    log.info("%s, %s: cosine %.5f, STS retention %s -> %s", preset.target, plan, score.cosine_mean,
             score.retention_percent, "pass" if attempt.passed else "fail")
    return attempt


@dataclass(frozen=True)
class GateResult:
    preset: QuantPreset  # the one that made the file kept at ``dst`` (with its exclusions)
    chosen: Attempt  # the first attempt that passed, else the one with the highest cosine
    attempts: list[Attempt]  # every attempt, in order


def gated_quantize(fp32: Path, dst: Path, preset: QuantPreset, scorer: Scorer, quantize: QuantizeFn,
                   min_retention: float, min_cosine: float, fixed_scales: bool = False) -> GateResult:
    """Write ``dst``; return the attempt kept there, the preset that made it, and every attempt, in order.

    Fused Attention nodes with an attention bias are never quantized (QAttention would drop the bias).
    Plans, cumulative: the preset as it is; with ``fixed_scales`` (static int8), excluding the MatMuls fed by a
    GELU (the FFN output projections, whose inputs have outliers: one calibrated scale suffers most there;
    measured on the default student's static file, STS dev retention 98.9% -> 99.99%); per-channel weights; then
    excluding the embedding lookups, the first and last layers' MatMuls, and the nodes whose outputs the measured
    per-node error ranks worst. On failure ``dst`` is the best attempt.
    """
    plans: list[tuple[str, Callable[[QuantPreset, Path], QuantPreset]]] = [
        ("as preset", lambda p, _: p),
        *([("exclude FFN output projections", lambda p, _: p.excluding(after_activation_matmuls(fp32)))]
          if fixed_scales else []),
        ("per-channel weights", lambda p, _: p.per_channel_weights()),
        ("exclude embedding lookups", lambda p, _: p.excluding(embedding_lookups(fp32))),
        ("exclude first and last layer", lambda p, _: p.excluding(edge_layer_matmuls(fp32))),
        *[("exclude worst nodes by measured error",
           lambda p, last: p.excluding(node_errors(fp32, last, scorer.feeds)))] * MEASURED_ROUNDS,
    ]
    tries: list[tuple[Attempt, Path, QuantPreset]] = []
    current, last_file = preset.excluding(attention_with_bias(fp32)), fp32
    for index, (plan, step) in enumerate(plans):
        candidate_preset = step(current, last_file)
        if index and candidate_preset == current:
            continue  # the plan changes nothing (e.g. no such nodes): skip it
        current = candidate_preset
        candidate = dst.with_name(f".try{index}-{dst.name}")
        quantize(fp32, candidate, current)
        attempt = _scored(plan, current, candidate, scorer, min_retention, min_cosine)
        tries.append((attempt, candidate, current))
        last_file = candidate
        if attempt.passed:
            break
    chosen = next((t for t in tries if t[0].passed), None) or max(tries, key=lambda t: t[0].score.cosine_mean)
    move_model(chosen[1], dst)
    for _, path, _ in tries:
        remove_model(path)
    return GateResult(chosen[2], chosen[0], [t[0] for t in tries])


def refine(result: GateResult, dst: Path, scorer: Scorer, rewrite: Callable[[Path, Path], object], plan: str,
           min_retention: float, min_cosine: float) -> GateResult:
    """One more attempt after the gate passed: ``rewrite(dst, candidate)``, kept in place of ``dst`` only when the
    gate passes it too (else ``dst`` stays as it was; the failed attempt is recorded either way). A gate that did
    not pass is left alone."""
    if not result.chosen.passed:
        return result
    candidate = dst.with_name(f".refine-{dst.name}")
    rewrite(dst, candidate)
    attempt = _scored(plan, result.preset, candidate, scorer, min_retention, min_cosine)
    if attempt.passed:
        move_model(candidate, dst)
        return GateResult(result.preset, attempt, [*result.attempts, attempt])
    remove_model(candidate)
    return GateResult(result.preset, result.chosen, [*result.attempts, attempt])


def attempts_to_dicts(attempts: list[Attempt]) -> list[dict[str, Any]]:
    return [asdict(a) for a in attempts]
