"""Checks that run before any long work: every output path can be written, every data file exists, every layer
index fits the model it names. A bad path or value is found in a second, not after an hour of training."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from compress.config import Config, StudentKind
from compress.errors import CompressError, ConfigError

LAYER_KEYS = ("num_hidden_layers", "n_layers", "num_layers")


def _nearest_existing(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe(folder: Path, what: str, path: Path) -> None:
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".st-compress-probe-"))
    except OSError as exc:
        raise CompressError(f"{what} {path} cannot be written: {folder}: {exc.strerror}",
                            "choose a folder you can write to") from None


def check_output_dir(path: Path, what: str) -> None:
    """``path`` will be a folder this command writes: it is one already, or can be made where it is named."""
    if path.exists() and not path.is_dir():
        raise CompressError(f"{what} {path} is a file", "choose a folder path (a new or empty folder)")
    ancestor = _nearest_existing(path)
    if not ancestor.is_dir():
        raise CompressError(f"{what} {path} cannot be made: {ancestor} is a file, not a folder",
                            "choose a path whose parents are folders")
    _probe(ancestor, what, path)


def check_output_file(path: Path, what: str) -> None:
    """``path`` will be a file this command writes."""
    if path.is_dir():
        raise CompressError(f"{what} {path} is a folder", "name a file path")
    check_output_dir(path.parent, f"{what} {path}: its folder")


def check_input_file(path: str | None, key: str) -> None:
    if not path:
        return
    if Path(path).is_dir():
        raise ConfigError(f"config key '{key}': {path} is a directory, not a file", "name the data file itself")
    if not Path(path).is_file():
        raise ConfigError(f"config key '{key}': file {path} does not exist",
                          "fix the path (relative paths start where you run compress), or set the key to none")


def check_data_files(config: Config) -> None:
    data = config.data
    check_input_file(data.corpus, "data.corpus")
    for key in ("sts_dev", "sts_test", "queries_file", "documents_file"):
        check_input_file(getattr(data, key), f"data.{key}")
    if config.loss.weight("task") > 0:
        check_input_file(data.sts_train, "data.sts_train")


def layer_count(model: str) -> int | None:
    """The transformer layer count from a local model's ``config.json`` (None for a hub id or no such key)."""
    from compress.models import resolve_model

    path = Path(resolve_model(model)) / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return next((int(config[k]) for k in LAYER_KEYS if isinstance(config.get(k), int)), None)


def _check_indices(key: str, value: list[int] | int, total: int, model: str) -> None:
    bad = [i for i in (value if isinstance(value, list) else [value]) if i >= total]
    if bad:
        raise ConfigError(f"config key '{key}' = {value}: layer {bad[0]} is out of range; {model} has {total} "
                          f"layers (0..{total - 1})", f"use distinct indices in 0..{total - 1}")


def check_layers(config: Config) -> None:
    """Layer indices against the models' own configs, read without loading any weights."""
    student = config.student
    if student.kind is StudentKind.PRUNED:
        total = layer_count(config.teacher.model)
        if total is None:
            return
        if student.keep_layers:
            _check_indices("student.keep_layers", student.keep_layers, total, config.teacher.model)
        elif student.num_layers > total:
            raise ConfigError(f"config key 'student.num_layers' is {student.num_layers}; the teacher "
                              f"{config.teacher.model} has {total} layers", f"choose 1..{total}")
    elif student.kind is StudentKind.PRETRAINED and student.keep_layers:
        total = layer_count(student.model)
        if total is not None:
            _check_indices("student.keep_layers", student.keep_layers, total, student.model)
    if config.loss.layer_map and (total := layer_count(config.teacher.model)) is not None:
        _check_indices("loss.layer_map", config.loss.layer_map, total, config.teacher.model)
    if config.loss.token_layer is not None and (total := layer_count(config.teacher.model)) is not None:
        _check_indices("loss.token_layer", config.loss.token_layer, total, config.teacher.model)


def check_peers(config: Config) -> None:
    """Each ``bench.peers`` entry is a sentence-transformers folder that exists, or a model id (not a path)."""
    from compress.models import looks_like_path, resolve_model

    for name in config.bench.peers:
        folder = Path(resolve_model(name))
        if (looks_like_path(name) or folder.exists()) and not (folder / "modules.json").is_file():
            raise ConfigError(f"config key 'bench.peers' names {name!r}: no sentence-transformers folder there "
                              "(no modules.json)", "name a sentence-transformers folder or a model id, or drop it "
                              "from bench.peers")


def check_config_inputs(config: Config) -> None:
    """What ``compress check-config`` adds to parsing, before the evaluation sets are read
    (``compress.bench.sets.check_eval_sets``): the data files exist, the layer indices fit, the peers are there."""
    check_data_files(config)
    check_layers(config)
    check_peers(config)


def check_student_out(path: Path) -> None:
    """The student folder ``compress distill`` writes: new, empty, or an earlier student (it is replaced)."""
    check_output_dir(path, "student folder (--out)")
    from compress.handoff import REPORT_NAME

    if path.is_dir() and any(path.iterdir()) and not (path / REPORT_NAME).is_file():
        raise CompressError(f"student folder {path} already holds something that is not a distilled student",
                            "choose a new or empty folder for --out, or remove that one")
