"""Length-grouped batches: shuffled, then sorted by length within windows of many batches, then the batches shuffled.

Random batches of corpus sentences pad to the longest of 32 (about 2.2x the mean length here); grouping cuts the
padding and raised training speed 1.5x on 2 cores, with the same STS dev and held-back cosine after one epoch
(83.59 / 0.701 grouped vs 83.54 / 0.702 random, benchmarks/scaling). The order depends only on the seed and the
epoch, so a resumed run sees the batches an uninterrupted one would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from sentence_transformers.base.sampler import DefaultBatchSampler

WINDOW_BATCHES = 50
TEXT_COLUMN = "sentence"


class LengthGroupedBatchSampler(DefaultBatchSampler):
    def __init__(self, dataset: Any, batch_size: int, drop_last: bool, valid_label_columns: list[str] | None = None,
                 generator: Any = None, seed: int = 0) -> None:
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        columns = dataset.column_names
        texts = dataset[TEXT_COLUMN] if TEXT_COLUMN in columns else None
        self.lengths = [len(t) for t in texts] if texts is not None else None  # characters: a cheap proxy
        self.size = len(dataset)

    def batches(self) -> list[list[int]]:
        rng = random.Random(f"{self.seed}:{self.epoch}")
        order = list(range(self.size))
        rng.shuffle(order)
        lengths = self.lengths
        if lengths is not None:
            window = self.batch_size * WINDOW_BATCHES
            order = [i for w in range(0, self.size, window)
                     for i in sorted(order[w:w + window], key=lambda i: lengths[i])]
        out = [order[i:i + self.batch_size] for i in range(0, self.size, self.batch_size)]
        if self.drop_last and out and len(out[-1]) < self.batch_size:
            out.pop()
        rng.shuffle(out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()

    def __len__(self) -> int:
        full, rest = divmod(self.size, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)
