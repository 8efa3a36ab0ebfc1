"""Reading the config: TOML files, ``--set`` overrides, and tables checked against the schema's types (a wrong key
or type is a ConfigError naming it)."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from compress.config.schema import Config
from compress.errors import ConfigError


def _describe(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (enums) or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is dict:
        _, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a table of {_describe(value_type)}, got {value!r}")
        if dataclasses.is_dataclass(value_type):
            return {k: _build(value_type, v if isinstance(v, dict) else {}, f"{key}.{k}.")  # type: ignore[arg-type]
                    for k, v in value.items()}
        return {k: _coerce(v, value_type, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key '{key}' must be a list of {_describe(item)}, got {value!r}")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            raise ConfigError(
                f"config key '{key}' has value {value!r}; allowed values: {', '.join(m.value for m in tp)}"
            ) from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{key}' must be a finite number, got {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"config key '{key}' must be an integer, got {value!r}")
    if not isinstance(value, tp):
        raise ConfigError(f"config key '{key}' must be a {_describe(tp)}, got {value!r}")
    return value


def _inline(cls: type) -> dict[str, str]:
    """The keys a section spells flat for its ``inline`` dict field (the loss weights), to that field's name."""
    return {key: f.name for f in dataclasses.fields(cls) for key in f.metadata.get("inline", ())}


def _build(cls: type, table: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    inline = _inline(cls)
    names = [*inline, *(f.name for f in dataclasses.fields(cls) if f.name not in inline.values())]
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if key in inline:
            kwargs.setdefault(inline[key], getattr(cls(), inline[key]))[key] = _coerce(value, float, full)
            continue
        if key not in hints or key in inline.values():
            raise ConfigError(f"unknown config key '{full}'", f"allowed keys here: {', '.join(names)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{full}' must be a table [{full}]")
            kwargs[key] = _build(tp, value, f"{full}.")  # type: ignore[arg-type]
        else:
            kwargs[key] = _coerce(value, tp, full)
    return cls(**kwargs)


def build_config(table: dict[str, Any]) -> Config:
    """A ``Config`` from a TOML table (a key it omits takes the dataclass default), checked for keys and types
    only: ``compress.config.load_config`` runs the value checks too."""
    config: Config = _build(Config, table, "")
    return config


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``section.key=value``; the value is read as TOML, else taken as a plain string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r} is not key=value", "write e.g. --set train.epochs=2")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(table: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = table
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: '{part}' is not a section")
        node[path[-1]] = value
    return table


def read_toml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory", "pass a TOML file to --config (compress init writes "
                          "one)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "pass an existing TOML file to --config") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
