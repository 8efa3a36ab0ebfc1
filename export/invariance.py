"""Batch invariance: does a text get the same vector alone as in a batch of other texts?

Dynamic int8 scales each activation tensor by its own range, pads included, so a text's vector depends on its
batch; fp32 and static (calibrated) int8 files do not, up to float rounding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from compress.metrics import cosines

BATCH_SIZES = (32, 128)
SENTENCES = 128
Encode = Callable[[list[str], int], np.ndarray]


@dataclass(frozen=True)
class Invariance:
    min_cosine: float  # batch 1 vs each of ``batch_sizes``, over ``sentences`` texts
    mean_cosine: float
    sentences: int
    batch_sizes: tuple[int, ...]
    invariant: bool  # min_cosine >= the floor it was judged by

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "batch_sizes": list(self.batch_sizes)}


def measure_invariance(encode: Encode, sentences: list[str], floor: float, texts: int = SENTENCES,
                       batch_sizes: tuple[int, ...] = BATCH_SIZES) -> Invariance:
    """Each of (at most) ``texts`` sentences alone, against the same sentences in batches of ``batch_sizes`` (in
    the given order: mixed lengths, as a caller's batches are). ``encode(texts, batch_size)``: any runtime's."""
    chosen = sentences[:texts]
    alone = np.concatenate([encode([t], 1) for t in chosen])
    found = [cosines(encode(chosen, size), alone) for size in batch_sizes]
    worst = min(float(c.min()) for c in found)
    return Invariance(worst, float(np.mean([c.mean() for c in found])), len(chosen), batch_sizes, worst >= floor)
