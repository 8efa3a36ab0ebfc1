"""Bad input to ``compress run`` and ``compress init``: exit 2 naming the key or file; bugs: exit 3."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compress.cli import app
from compress.config import load_config
from compress.defaults import default_config_text
from tests.run.conftest import Release

runner = CliRunner()


def test_bad_config_key_exits_2_naming_it(release: Release, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--config", str(release.config), "--out", str(out),
                                 "--set", "export.targetz=['avx2']"])
    assert result.exit_code == 2
    assert "unknown config key 'export.targetz'" in result.output
    assert not out.exists()


def test_missing_data_file_exits_2_naming_the_key(release: Release, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--config", str(release.config), "--out", str(tmp_path / "out"),
                                 "--set", "data.sts_dev='/no/such/dev.csv'"])
    assert result.exit_code == 2
    assert "config key 'data.sts_dev': file /no/such/dev.csv does not exist" in result.output


def test_output_folder_with_other_files_is_refused(release: Release, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["run", "--config", str(release.config), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a compress run artifact" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_output_path_that_is_a_file_is_refused(release: Release, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    result = runner.invoke(app, ["run", "--config", str(release.config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"output {tmp_path / 'out'} is a file" in result.output
    assert (tmp_path / "out").read_text() == "a file"


def test_internal_error_exits_3(release: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    import compress.run

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(compress.run, "run_pipeline", broken)
    result = runner.invoke(app, ["run", "--config", str(release.config)])
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom" in result.output


def test_init_writes_the_embedded_default(tmp_path: Path) -> None:
    path = tmp_path / "compress.toml"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    assert path.read_text() == default_config_text()
    assert load_config(path) == load_config(None)
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(app, ["init", str(path), "--force"]).exit_code == 0


def test_embedded_default_is_commented_and_complete() -> None:
    text = default_config_text()
    table = tomllib.loads(text)
    assert {"teacher", "data", "student", "loss", "train", "export", "bench", "output"} <= set(table)
    assert text.count("#") > 30
    config = load_config(None)
    assert config.teacher.model == "all-mpnet-base-v2"
    assert config.data.corpus == "../shared/data/corpus/sentences.txt.gz"


def test_run_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    for text in ("0 every gate passed", "1 a gate failed", "2 bad input", "3 internal error"):
        assert text in " ".join(result.output.split())


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.output.dir.startswith("runs/")
