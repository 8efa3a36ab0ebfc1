from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from compress.bench.harness import ModelSpec
from compress.bench.paired import PairedSettings
from compress.bench.schema import BENCH_SCHEMA
from compress.bench.versus import versus
from compress.cli import app
from compress.config import load_config
from compress.errors import ConfigError
from compress.gates import GateSettings, check
from compress.profiles import PROFILES

runner = CliRunner()
QUICK = ["--set", "bench.latency_calls=5", "--set", "bench.warmup=1", "--set", "bench.throughput_batches=1",
         "--set", "bench.heldback_sentences=5", "--set", "bench.throughput_seconds=0"]


@pytest.fixture()
def config_toml(tmp_path: Path, corpus_file: Path, sts_file: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[data]\ncorpus = "{corpus_file}"\nmax_sentences = 200\nvalidation_sentences = 40\n'
                    f'sts_test = "{sts_file}"\n[output]\nprogress = false\n')
    return path


def test_bench_against_a_model_adds_head_to_head_ratios_and_gates_them(config_toml: Path, exported,
                                                                         tmp_path: Path) -> None:
    art = exported.out_dir
    out = tmp_path / "out"
    result = runner.invoke(app, [
        "bench", f"fp32={art}:onnx/model.onnx", f"int8={art}", "--teacher", "none", "--against", "fp32",
        "--profiles", "edge-1core", "--out", str(out), "--config", str(config_toml), *QUICK,
        "--set", "bench.head_to_head_rounds=2", "--set", "bench.head_to_head_processes=1",
        "--set", "bench.max_latency_ratio=1000", "--set", "bench.min_throughput_ratio=1000"])
    assert result.exit_code == 1, result.output
    doc = json.loads((out / "bench.json").read_text())
    jsonschema.validate(doc, BENCH_SCHEMA)
    by_model = {e["model"]: e for e in doc["results"]}
    assert set(by_model) == {"fp32", "int8", "int8 (openvino)"}  # the artifact runs on OpenVINO too
    fp32, int8 = by_model["fp32"], by_model["int8"]
    assert "head_to_head" not in fp32  # the reference itself
    # no teacher, so no retention (not a share of the first model's score); cosine to the same artifact's fp32
    assert "retention_percent" not in fp32 and "retention_percent" not in int8
    assert int8["cosine"]["against"] == "fp32 student"
    versus_fp32 = int8["head_to_head"]
    assert (versus_fp32["against"], versus_fp32["rounds"], versus_fp32["processes"]) == ("fp32", 2, 1)
    assert versus_fp32["latency_ratio"]["q1"] <= versus_fp32["latency_ratio"]["median"] <= \
        versus_fp32["latency_ratio"]["q3"]
    assert versus_fp32["b1_p50_ms"] > 0 and versus_fp32["throughput_ratio"]["median"] > 0
    assert doc["settings"]["head_to_head"]["against"] == "fp32"
    # the throughput gate (>= 1000x) fails, the latency one (<= 1000x) passes, and only for int8
    # every model is gated when none is named as a subject: the artifact's OpenVINO run too
    assert doc["gates"]["failed"][0] == (f"int8 on edge-1core: batch-32 throughput "
                                         f"{versus_fp32['throughput_ratio']['median']:.2f}x fp32's < 1000.0x")
    assert len(doc["gates"]["failed"]) == 2 and doc["gates"]["failed"][1].startswith("int8 (openvino) on edge-1core")
    assert "gate failed: int8 on edge-1core: batch-32 throughput" in result.stderr
    md = (out / "bench.md").read_text()
    assert "## Head-to-head against fp32" in md and "| int8 | edge-1core |" in md.split("## Head-to-head")[1]


def test_against_must_name_a_model_before_anything_is_measured(config_toml: Path, tiny_student_dir: Path,
                                                                tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", f"s={tiny_student_dir}", "--teacher", "none", "--against", "minilm",
                                 "--profiles", "edge-1core", "--out", str(tmp_path / "out"),
                                 "--config", str(config_toml), *QUICK])
    assert result.exit_code == 2
    assert "'bench.against' names 'minilm'" in result.stderr and "labels: s" in result.stderr
    assert not (tmp_path / "out").exists()


def test_ratio_gates_need_a_reference(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[bench]\nmax_latency_ratio = 0.7\n")
    with pytest.raises(ConfigError, match=r"'bench.max_latency_ratio' is a ratio to another model.*bench.against"):
        load_config(path)
    path.write_text('[bench]\nagainst = "teacher"\nmin_throughput_ratio = 0\n')
    with pytest.raises(ConfigError, match=r"'bench.min_throughput_ratio' must be > 0"):
        load_config(path)
    path.write_text('[bench]\nagainst = "teacher"\nhead_to_head_processes = 0\n')
    with pytest.raises(ConfigError, match=r"'bench.head_to_head_processes' must be >= 1"):
        load_config(path)


def test_a_missing_reference_or_a_failed_run_is_recorded_and_fails_the_ratio_gates(tmp_path: Path) -> None:
    settings = PairedSettings(rounds=1, processes=1)
    broken = ModelSpec("broken", "onnx", str(tmp_path / "nowhere"), "onnx/model.onnx")
    absent = versus(PROFILES["edge-1core"], [broken], ["a b c"], settings, "ref", tmp_path)
    assert absent["broken"]["error"] == "ref did not run on edge-1core"
    failed = versus(PROFILES["edge-1core"], [broken, ModelSpec("ref", "onnx", str(tmp_path), "onnx/x.onnx")],
                    ["a b c"], settings, "ref", tmp_path)
    assert failed["broken"]["error"].startswith("paired measurement failed")
    entry = {"model": "broken", "profile": "edge-1core", "status": "ok", "size_mb": 1.0,
             "latency_batch1": {"total": {"p95_ms": 1.0}}, "head_to_head": absent["broken"]}
    gates = GateSettings({"max_latency_ratio": 0.7}, against="ref")
    assert check([entry], gates) == [
        "broken on edge-1core: no head-to-head result against ref (ref did not run on edge-1core)"]
    assert check([entry], GateSettings({"max_size_mb": 10})) == []  # no ratio gate: the missing ratio is not judged
    measured = {**entry, "head_to_head": {"against": "ref", "batch": 32, "latency_ratio": {"median": 0.6},
                                          "throughput_ratio": {"median": 1.4}}}
    assert check([measured], GateSettings({"max_latency_ratio": 0.7, "min_throughput_ratio": 1.5}, against="ref")) == [
        "broken on edge-1core: batch-32 throughput 1.40x ref's < 1.5x"]
    assert check([{**measured, "model": "ref"}], GateSettings({"min_throughput_ratio": 1.5}, against="ref")) == []
