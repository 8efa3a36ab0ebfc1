"""``manifest.json``: the sha256 of every file in an artifact folder, versions, settings and numbers."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.io import write_json_atomic

MANIFEST = "manifest.json"
PACKAGES = ("st-compress", "torch", "onnx", "onnxruntime", "optimum", "optimum-onnx", "transformers",
            "sentence-transformers", "tokenizers")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none (or an unreadable one)."""
    path = folder / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, IsADirectoryError, json.JSONDecodeError):
        return None
    return data


def check_replaceable(out_dir: Path, key: str, value: Any, refusal: str, hint: str) -> None:
    """An output folder may be written over only when it is missing, empty, or its manifest has ``key == value``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CompressError(f"output {out_dir} is a file", "choose a folder path for the output")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    manifest = read_manifest(out_dir)
    if manifest is not None and manifest.get(key) == value:
        return
    raise CompressError(f"{out_dir} already holds {refusal}", hint)


def write_manifest(folder: Path, content: dict[str, Any]) -> dict[str, Any]:
    manifest = {"schema": "st-compress/manifest/1", **content, "versions": versions(), "files": file_hashes(folder)}
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest


def verify(folder: Path) -> list[str]:
    """Paths whose sha256 differs from the manifest, or that are missing or not listed."""
    path = folder / MANIFEST
    if not path.exists():
        raise CompressError(f"{folder} has no {MANIFEST}", "pass an artifact folder written by compress export")
    expected = json.loads(path.read_text())["files"]
    actual = file_hashes(folder)
    return sorted(name for name in set(expected) | set(actual) if expected.get(name) != actual.get(name))
