"""Loading a config: the user's TOML file or the embedded default recipe, ``--set`` overrides, then every check
that needs no file beyond the config (``compress.config.checks``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from compress.config.checks import validate
from compress.config.parse import apply_overrides, build_config, read_toml
from compress.config.schema import Config


def recipe_table() -> dict[str, Any]:
    """The embedded default recipe (``compress/defaults/default.toml``) as a TOML table."""
    from compress.defaults import default_config_text

    return tomllib.loads(default_config_text())


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> Config:
    """``path`` (TOML; a key it omits takes the dataclass default), else the embedded default recipe: every
    command without ``--config`` runs the same recipe as ``compress run``."""
    table = read_toml(path) if path is not None else recipe_table()
    table = apply_overrides(table, overrides or [])
    config = build_config(table)
    validate(config)
    return config
