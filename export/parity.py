"""Parity of an ONNX file with PyTorch on real sentences of mixed length and several batch sizes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compress.metrics import cosines
from export.artifact.encoder import TextEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BATCH_SIZES = (1, 7, 32)


@dataclass(frozen=True)
class Parity:
    max_abs_diff: float
    min_cosine: float
    sentences: int
    batch_sizes: tuple[int, ...]

    def passed(self, min_cosine: float) -> bool:
        return self.min_cosine >= min_cosine


def parity_sentences(sentences: list[str], max_seq_length: int) -> list[str]:
    """The given sentences plus one built to run past ``max_seq_length`` tokens (it must be truncated alike)."""
    long = " ".join(sentences)
    while len(long.split()) < 2 * max_seq_length:
        long = f"{long} {long}"
    return [*sentences, long]


def check_parity(model: SentenceTransformer, encoder: TextEncoder, sentences: list[str]) -> Parity:
    reference = model.encode(sentences, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    worst_diff, worst_cos = 0.0, 1.0
    for batch_size in BATCH_SIZES:
        got = encoder.encode(sentences, batch_size=batch_size)
        worst_diff = max(worst_diff, float(np.abs(got - reference).max()))
        worst_cos = min(worst_cos, float(cosines(got, reference).min()))
    return Parity(worst_diff, worst_cos, len(sentences), BATCH_SIZES)


def compare(reference: TextEncoder, other: TextEncoder, sentences: list[str]) -> Parity:
    """Two files that should compute the same thing (an int8 file and its ORT-format copy), batch for batch."""
    worst_diff, worst_cos = 0.0, 1.0
    for batch_size in BATCH_SIZES:
        want, got = reference.encode(sentences, batch_size), other.encode(sentences, batch_size)
        worst_diff = max(worst_diff, float(np.abs(got - want).max()))
        worst_cos = min(worst_cos, float(cosines(got, want).min()))
    return Parity(worst_diff, worst_cos, len(sentences), BATCH_SIZES)
