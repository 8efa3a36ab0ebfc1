"""One source of defaults: every command without --config resolves the embedded recipe, as compress run does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from compress.cli import app
from compress.config import Config, load_config
from compress.errors import CompressError

runner = CliRunner()


class Captured(CompressError):
    """Raised in place of the stage: the CLI exits with this code, having resolved the config."""

    exit_code = 99


def _capture(monkeypatch: pytest.MonkeyPatch, module: str, name: str, seen: list[Config]) -> None:
    import importlib

    def grab(config: Config, *args: Any, **kwargs: Any) -> Any:
        seen.append(config)
        raise Captured("captured")

    monkeypatch.setattr(importlib.import_module(module), name, grab)


@pytest.mark.parametrize(("args", "module", "name", "flags"), [
    (["run"], "compress.run", "run_pipeline", []),
    (["distill"], "compress.distill.stage", "distill", []),
    (["export", "{student}", "{out}"], "export.stage", "run_export", []),
    (["bench", "{student}"], "compress.bench.stage", "run_bench_stage", ["bench.models"]),
])
def test_every_command_without_config_resolves_the_recipe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          tiny_student_dir: Path, args: list[str], module: str,
                                                          name: str, flags: list[str]) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the recipe's data paths start at the repo root
    seen: list[Config] = []
    _capture(monkeypatch, module, name, seen)
    argv = [a.format(student=tiny_student_dir, out=tmp_path / "art") for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == Captured.exit_code and seen, result.output
    resolved, recipe = seen[0].to_dict(), load_config().to_dict()
    for flag in flags:  # what the command's own arguments set
        section, key = flag.split(".")
        resolved[section].pop(key), recipe[section].pop(key)
    assert resolved == recipe
    check = json.loads(runner.invoke(app, ["check-config"]).stdout)
    assert check == json.loads(json.dumps(load_config().to_dict()))


# Where a file's omitted key and the recipe part, on purpose (docs/config.md): the recipe's student is a cut
# MiniLM (its keep_layers would be wrong for a pruned teacher), its gates are the recipe's own floors, and it
# measures all-MiniLM-L6-v2 beside the student and plots index compatibility first (a file names its own peers and
# retrieval sets); loss.keep holds a pretrained student's similarities (a file's pruned student has none to hold);
# the recipe makes query-shaped texts from corpus sentences it can spare (a file's corpus may have none to spare);
# the recipe draws its sample for the words it adds (a file's keeps its random draw, its cache and stages).
RECIPE_ONLY = {"student.kind", "student.keep_layers", "loss.keep", "data.queries", "data.validation_queries",
               "data.sampling",
               "bench.min_retention", "bench.max_size_mb",
               "bench.retrieval_sets", "bench.min_retrieval_retention", "bench.min_index_retention", "bench.peers",
               "bench.pareto_accuracy"}


def test_the_recipe_and_a_files_defaults_differ_only_where_documented() -> None:
    recipe, base = load_config().to_dict(), Config().to_dict()
    differ = {f"{s}.{k}" for s in recipe for k in recipe[s] if recipe[s][k] != base[s][k]}
    assert differ == RECIPE_ONLY
