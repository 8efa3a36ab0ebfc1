from __future__ import annotations

import json
from pathlib import Path

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
