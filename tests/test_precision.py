from __future__ import annotations

import pytest
import torch

from compress import precision
from compress.config import Precision


@pytest.mark.parametrize("native", [True, False])
def test_auto_is_bf16_only_where_native(monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    expected = Precision.BF16 if native else Precision.FP32
    assert precision.resolve(Precision.AUTO, "cpu") is expected
    assert precision.resolve(Precision.FP32, "cpu") is Precision.FP32  # an explicit choice is kept
    assert precision.resolve(Precision.BF16, "cpu") is Precision.BF16


def test_autocast_runs_matmuls_in_the_resolved_dtype() -> None:
    a = torch.randn(4, 8)
    with precision.autocast(Precision.BF16, "cpu"):
        assert (a @ a.T).dtype is torch.bfloat16
    with precision.autocast(Precision.FP32, "cpu"):
        assert (a @ a.T).dtype is torch.float32
