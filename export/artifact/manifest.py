"""``manifest.json``: the sha256 of every file in an artifact folder, versions, settings and numbers.

The manifest checks itself too: ``manifest_sha256`` is the sha256 of its own content without that key, so that
editing its metadata (``status``, ``passed``, the targets) fails ``verify`` like editing a file does.
"""

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
SCHEMA = "st-compress/manifest/1"
SELF_KEY = "manifest_sha256"
PACKAGES = ("st-compress", "torch", "onnx", "onnxruntime", "optimum", "optimum-onnx", "transformers",
            "sentence-transformers", "tokenizers", "openvino", "nncf")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder) != Path(MANIFEST)}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


# A manifest's own bookkeeping and verdict: what every folder that writes a manifest sets for itself.
BOOKKEEPING = ("schema", "versions", "files", SELF_KEY, "passed", "status")


def artifact_sections(manifest: dict[str, Any]) -> dict[str, Any]:
    """What an artifact's manifest says about its files (targets, parity, the int8 files and their gates, batch
    invariance, OpenVINO, the runtime benchmark, the ORT copies, ...), without its bookkeeping and verdict: a folder
    that carries the artifact's files (the release) carries these sections too, so it serves as the artifact did."""
    return {k: v for k, v in manifest.items() if k not in BOOKKEEPING}


def _self_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != SELF_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def write_manifest(folder: Path, content: dict[str, Any]) -> dict[str, Any]:
    manifest = {"schema": SCHEMA, **content, "versions": versions(), "files": file_hashes(folder)}
    manifest[SELF_KEY] = _self_digest(manifest)
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest


def _problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"it is a JSON {type(data).__name__}, not an object"
    files = data.get("files")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return "it has no 'files' table of path -> sha256"
    return None


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, checked for shape (not yet for checksums: see ``verify``)."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise CompressError(f"{folder} is not a folder", "pass an artifact folder written by compress export or run")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompressError(f"{folder} has no {MANIFEST}",
                            "pass an artifact folder written by compress export or compress run") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompressError(f"{path} is not valid JSON ({exc})",
                            "the artifact is damaged: restore it from its source, or re-export it") from None
    if (problem := _problem(data)) is not None:
        raise CompressError(f"{path} is not an st-compress manifest: {problem}",
                            "the artifact is damaged: restore it from its source, or re-export it")
    return dict(data)


def find_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none or a damaged one."""
    try:
        return read_manifest(folder)
    except CompressError:
        return None


def verify(folder: Path) -> list[str]:
    """Paths whose sha256 differs from the manifest, or that are missing or not listed; ``manifest.json`` itself
    when its own content was changed."""
    manifest = read_manifest(folder)
    expected, actual = manifest["files"], file_hashes(folder)
    bad = sorted(name for name in set(expected) | set(actual) if expected.get(name) != actual.get(name))
    if manifest.get(SELF_KEY) != _self_digest(manifest):
        bad.append(MANIFEST)
    return bad


def check_replaceable(out_dir: Path, key: str, value: Any, refusal: str, hint: str) -> None:
    """An output folder may be written over only when it is missing, empty, or its manifest has ``key == value``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CompressError(f"output {out_dir} is a file", "choose a folder path for the output")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    manifest = find_manifest(out_dir)
    if manifest is not None and manifest.get(key) == value:
        return
    raise CompressError(f"{out_dir} already holds {refusal}", hint)


def batch_invariant(manifest: dict[str, Any], file: str, isa: str | None = None) -> bool | None:
    """Whether ``file`` gives a text the same vector whatever its batch, as the export measured it (the manifest's
    ``batch_invariance``) on a CPU with the instruction set ``isa`` (default: this host's); None where it holds no
    such measurement (float rounding is the kernels', so another CPU's says nothing here: measure it)."""
    from export.artifact.host import host_isa

    measured = (manifest.get("batch_invariance") or {}).get(file)
    if isinstance(measured, dict) and measured.get("isa") == (isa or host_isa()):
        return bool(measured.get("invariant"))
    return None


def invariance_floor(manifest: dict[str, Any]) -> float:
    """The min cosine the export judged batch invariance by (its ``export.invariance_min_cosine``)."""
    floors = [m["floor"] for m in (manifest.get("batch_invariance") or {}).values()
              if isinstance(m, dict) and isinstance(m.get("floor"), float)]
    from export.artifact.invariance import DEFAULT_FLOOR

    return float(floors[0]) if floors else DEFAULT_FLOOR
