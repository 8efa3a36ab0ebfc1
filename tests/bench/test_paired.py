from __future__ import annotations

from pathlib import Path

import pytest

from compress.bench.harness import ModelSpec
from compress.bench.paired import PairedSettings, ratios, run_paired
from compress.errors import CompressError
from compress.profiles import PROFILES
from tests.conftest import make_sentences


def _round(a_ms: float, ref_ms: float, a_rate: float, ref_rate: float) -> dict[str, dict[str, float]]:
    return {"a": {"b1_p50_ms": a_ms, "throughput": a_rate}, "ref": {"b1_p50_ms": ref_ms, "throughput": ref_rate}}


def test_ratios_are_taken_within_rounds_and_the_median_drops_a_disturbed_round() -> None:
    # conditions drift 3x between rounds, the pair's ratio stays 0.5 / 2.0; one round a neighbour hit "a" only
    rounds = [_round(1.0, 2.0, 400, 200), _round(3.0, 6.0, 120, 60), _round(2.0, 4.0, 200, 100),
              _round(9.0, 2.0, 40, 200), _round(1.5, 3.0, 300, 150)]
    summary = ratios(rounds, "ref")
    assert summary["a"]["latency_ratio"]["median"] == pytest.approx(0.5)
    assert summary["a"]["throughput_ratio"]["median"] == pytest.approx(2.0)
    assert summary["a"]["latency_ratio"]["q3"] == pytest.approx(0.5)
    assert summary["ref"]["latency_ratio"] == {"median": 1.0, "q1": 1.0, "q3": 1.0}
    assert summary["a"]["b1_p50_ms"] == pytest.approx(2.0) and summary["ref"]["throughput"] == pytest.approx(150)


def test_run_paired_measures_every_model_in_every_round(exported, tmp_path: Path) -> None:
    folder = str(exported.out_dir)
    models = [ModelSpec("fp32", "onnx", folder, "onnx/model.onnx"),
              ModelSpec("int8", "onnx", folder)]  # no file: the profile's int8 file, as compress bench picks it
    settings = PairedSettings(rounds=3, calls=4, batches=1, batch=8, warmup=1, processes=2)
    rounds = run_paired(models, PROFILES["edge-1core"], make_sentences(30, seed=2), settings, tmp_path)
    assert [r["process"] for r in rounds] == [0, 0, 0, 1, 1, 1]
    for r in rounds:
        assert set(r["models"]) == {"fp32", "int8"}
        assert all(m["b1_p50_ms"] > 0 and m["throughput"] > 0 for m in r["models"].values())
    summary = ratios([r["models"] for r in rounds], "fp32")
    assert summary["fp32"]["latency_ratio"]["median"] == 1.0 and summary["int8"]["latency_ratio"]["median"] > 0


def test_run_paired_names_the_failure(tmp_path: Path) -> None:
    models = [ModelSpec("missing", "onnx", str(tmp_path / "nowhere"), "onnx/model.onnx")]
    with pytest.raises(CompressError, match="paired measurement failed"):
        run_paired(models, PROFILES["edge-1core"], ["a b c"], PairedSettings(rounds=1, processes=1), tmp_path)
