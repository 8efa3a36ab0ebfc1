from __future__ import annotations

import random

from datasets import Dataset

from compress.distill.train.sampler import LengthGroupedBatchSampler


def dataset(n: int = 1000, seed: int = 0) -> Dataset:
    rng = random.Random(seed)
    return Dataset.from_dict({"sentence": ["w" * rng.randint(1, 200) for _ in range(n)], "label": [0.0] * n})


def padding_waste(batches: list[list[int]], lengths: list[int]) -> float:
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return padded / sum(lengths) - 1


def test_every_sentence_once_per_epoch_in_a_shuffled_grouped_order() -> None:
    data = dataset()
    sampler = LengthGroupedBatchSampler(data, batch_size=8, drop_last=False, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 125
    assert sorted(i for b in batches for i in b) == list(range(1000))
    lengths = [len(s) for s in data["sentence"]]
    random_batches = [list(range(i, i + 8)) for i in range(0, 1000, 8)]
    assert padding_waste(batches, lengths) < 0.2 * padding_waste(random_batches, lengths)
    assert [max(lengths[i] for i in b) for b in batches] != sorted(max(lengths[i] for i in b) for b in batches)


def test_order_depends_only_on_seed_and_epoch() -> None:
    data = dataset()
    first, second = (LengthGroupedBatchSampler(data, batch_size=8, drop_last=False, seed=3) for _ in range(2))
    assert list(first) == list(second)  # a resumed run replays the same batches
    second.set_epoch(1)
    assert list(first) != list(second)
    other_seed = LengthGroupedBatchSampler(data, batch_size=8, drop_last=False, seed=4)
    assert list(other_seed) != list(first)


def test_drop_last_and_a_dataset_without_a_sentence_column() -> None:
    sampler = LengthGroupedBatchSampler(dataset(n=21), batch_size=8, drop_last=True, seed=0)
    assert len(sampler) == 2 and all(len(b) == 8 for b in sampler)
    pairs = Dataset.from_dict({"sentence1": ["a"] * 10, "sentence2": ["b"] * 10, "score": [1.0] * 10})
    plain = LengthGroupedBatchSampler(pairs, batch_size=4, drop_last=False, seed=0)
    assert sorted(i for b in plain for i in b) == list(range(10)) and len(plain) == 3
