from __future__ import annotations

from pathlib import Path

import pytest
from sentence_transformers.base.sampler import BatchSamplers

from compress.config import Precision, TrainConfig
from compress.distill.train.sampler import LengthGroupedBatchSampler
from compress.distill.train.trainer import _arguments


def test_bf16_and_length_grouping_reach_the_trainer(tmp_path: Path) -> None:
    config = TrainConfig(precision=Precision.BF16, device="cpu")
    args = _arguments(config, tmp_path, has_sts_dev=False, device_type="cpu")
    assert args.bf16 and args.use_cpu
    assert args.batch_sampler is LengthGroupedBatchSampler


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.AUTO])
def test_fp32_and_random_batches_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            precision: Precision) -> None:
    monkeypatch.setattr("compress.precision.bf16_native", lambda device_type: False)
    config = TrainConfig(precision=precision, group_by_length=False, device="cpu")
    args = _arguments(config, tmp_path, has_sts_dev=False, device_type="cpu")
    assert not args.bf16
    assert args.batch_sampler == BatchSamplers.BATCH_SAMPLER


def test_precision_follows_the_students_device(tmp_path: Path) -> None:
    """A student on an Apple GPU: no native bf16 there, and the trainer must not be pinned to the CPU."""
    args = _arguments(TrainConfig(precision=Precision.AUTO), tmp_path, has_sts_dev=False, device_type="mps")
    assert not args.bf16 and not args.use_cpu
