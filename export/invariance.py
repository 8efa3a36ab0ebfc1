"""Batch invariance: does a text get the same vector alone as in a batch of other texts?

Dynamic int8 scales each activation tensor by its own range, pads included, so a text's vector depends on its
batch; fp32 and static (calibrated) int8 files do not, up to float rounding."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from compress.metrics import cosines
from export.artifact.encoder import TextEncoder

BATCH_SIZES = (32, 128)
SENTENCES = 128


@dataclass(frozen=True)
class Invariance:
    min_cosine: float  # batch 1 vs each of ``batch_sizes``, over ``sentences`` texts
    mean_cosine: float
    sentences: int
    batch_sizes: tuple[int, ...]
    invariant: bool  # min_cosine >= the floor it was judged by

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "batch_sizes": list(self.batch_sizes)}


def measure_invariance(encoder: TextEncoder, sentences: list[str], floor: float) -> Invariance:
    """Each of (at most) ``SENTENCES`` texts alone, against the same texts in batches of ``BATCH_SIZES`` (in the
    given order: mixed lengths, as a caller's batches are)."""
    texts = sentences[:SENTENCES]
    alone = np.concatenate([encoder.encode([t], batch_size=1) for t in texts])
    found = [cosines(encoder.encode(texts, batch_size=size), alone) for size in BATCH_SIZES]
    worst = min(float(c.min()) for c in found)
    return Invariance(worst, float(np.mean([c.mean() for c in found])), len(texts), BATCH_SIZES, worst >= floor)
