from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compress.cli import app

runner = CliRunner()


def test_help_lists_subcommands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "distill" in result.output and "check-config" in result.output


def test_distill_cli_end_to_end(tiny_config_toml: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-student"
    result = runner.invoke(app, ["distill", "--config", str(tiny_config_toml), "--set", "train.epochs=0.5",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["student_dir"] == str(out)
    assert (out / "distill_report.json").exists()
    assert "sts_test" in summary["sts_spearman"]["student"]


def test_unknown_key_exits_2_naming_the_key(tiny_config_toml: Path) -> None:
    result = runner.invoke(app, ["distill", "--config", str(tiny_config_toml), "--set", "train.epoch=2"])
    assert result.exit_code == 2
    assert "unknown config key 'train.epoch'" in result.stderr
    assert "epochs" in result.stderr  # the allowed keys are listed


def test_bad_value_exits_2_with_allowed_values(tiny_config_toml: Path) -> None:
    result = runner.invoke(app, ["check-config", "--config", str(tiny_config_toml), "--set", "student.match=svd"])
    assert result.exit_code == 2
    assert "'student.match'" in result.stderr and "projection, pca" in result.stderr


def test_bad_data_exits_2_naming_file_and_line(tiny_config_toml: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence1,sentence2,score\na,b,oops\n")
    result = runner.invoke(app, ["distill", "--config", str(tiny_config_toml), "--set", f"data.sts_dev='{bad}'"])
    assert result.exit_code == 2
    assert f"{bad}:2: score 'oops'" in result.stderr
    assert "Traceback" not in result.output


def test_check_config_prints_resolved_config(tiny_config_toml: Path) -> None:
    result = runner.invoke(app, ["check-config", "--config", str(tiny_config_toml)])
    assert result.exit_code == 0
    resolved = json.loads(result.stdout)
    assert resolved["student"]["num_layers"] == 2 and resolved["loss"]["mse"] == 1.0


def test_check_config_without_a_file_is_the_recipe_compress_run_uses() -> None:
    from compress.config import load_config

    result = runner.invoke(app, ["check-config", "--set", "train.epochs=4"])
    assert result.exit_code == 0
    resolved = json.loads(result.stdout)
    recipe = load_config(None, ["train.epochs=4"]).to_dict()
    assert resolved == json.loads(json.dumps(recipe)) and resolved["student"]["kind"] == "pretrained"
    assert resolved["train"]["epochs"] == 4


def test_export_and_verify_cli(tiny_config_toml: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    student = tmp_path / "s"
    assert runner.invoke(app, ["distill", "--config", str(tiny_config_toml), "--out", str(student)]).exit_code == 0
    out = tmp_path / "artifact"
    result = runner.invoke(app, ["export", str(student), str(out), "--config", str(tiny_config_toml),
                                 "--targets", "avx2", "--set", "export.min_retention=1"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout is the JSON alone (NNCF's progress and log go to stderr)
    assert summary["passed"] and list(summary["quantized"]) == [
        "onnx/model_qint8_avx2.onnx", "onnx/model_qrow_avx2.onnx", "openvino/openvino_model_qint8_quantized.xml"]
    assert summary["quantized"]["onnx/model_qrow_avx2.onnx"]["batch_invariant"] is True
    assert "openvino" in summary["runtime_benchmark"] and "onnxruntime" in summary["runtime_benchmark"]
    assert runner.invoke(app, ["verify", str(out)]).exit_code == 0
    # a rerun into the same artifact (same source) replaces it; a gate that cannot pass exits 1
    monkeypatch.setattr("export.gate._passes", lambda *args: False)  # no plan passes the gate
    failing = runner.invoke(app, ["export", str(student), str(out), "--config", str(tiny_config_toml),
                                  "--targets", "avx2"])
    assert failing.exit_code == 1 and json.loads(failing.stdout)["passed"] is False
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "tokenizer.json").write_text("{}")
    verified = runner.invoke(app, ["verify", str(broken)])
    assert verified.exit_code == 1 and "mismatch: tokenizer.json" in verified.stderr


def test_export_bad_input_exits_2(tiny_config_toml: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["export", str(tmp_path / "empty"), str(tmp_path / "out"),
                                 "--config", str(tiny_config_toml)])
    assert result.exit_code == 2 and "not a sentence-transformers folder" in result.stderr
    result = runner.invoke(app, ["export", str(tmp_path / "empty"), str(tmp_path / "out"),
                                 "--config", str(tiny_config_toml), "--targets", "avx2,sse4"])
    assert result.exit_code == 2 and "'export.targets[1]'" in result.stderr and "avx512_vnni" in result.stderr
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["verify", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no manifest.json" in result.stderr


def test_quiet_silences_library_progress_bars_too() -> None:
    import os
    import subprocess
    import sys

    code = ("from compress.cli import set_quiet; set_quiet(); "
            "from model2vec.distill import inference; print(inference.tqdm(total=1).disable)")
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"


def test_reports_record_a_command_that_pastes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex
    import sys

    from compress.cli import _command_line

    argv = ["bench", "MiniLM int8=st/minilm:onnx/model_qint8_avx512_vnni.onnx", "--against", "MiniLM int8"]
    monkeypatch.setattr(sys, "argv", ["/venv/bin/compress", *argv])
    assert shlex.split(_command_line()) == ["compress", *argv]
