"""The embedded default config: what ``compress run`` uses without ``--config``, and what ``compress init`` writes."""

from __future__ import annotations

from importlib import resources

NAME = "default.toml"


def default_config_text() -> str:
    return resources.files(__package__).joinpath(NAME).read_text(encoding="utf-8")
