"""Batch invariance is measured per instruction set: an arm64 target's files in the emulated arm64 runtime at
export, and a host trusts only a measurement from its own instruction set (else it measures the file it opens)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from compress.enums import StudentKind
from export.artifact.host import host_isa
from export.artifact.invariance import probe_texts
from export.artifact.layout import settings_file
from export.artifact.manifest import batch_invariant, read_manifest
from export.pipeline import ExportResult
from tests.conftest import KindArtifacts

ARM64_FILES = ("onnx/model_qrow_arm64.onnx", "onnx/model_qint8_arm64.onnx")


def test_the_arm64_files_are_measured_in_onnxruntimes_aarch64_build(kind_artifacts: KindArtifacts) -> None:
    _, art = kind_artifacts[StudentKind.PRETRAINED]
    manifest = read_manifest(art)
    measured = manifest["batch_invariance"]
    for file in ARM64_FILES:
        entry = measured[file]
        assert entry["isa"] == "arm64" and "(aarch64) under qemu-aarch64" in entry["runtime"], entry
        assert entry["sentences"] > 0 and entry["batch_sizes"] == [64] and entry["floor"] == 0.9999
        assert entry["invariant"] == (entry["min_cosine"] >= entry["floor"])
        assert json.loads((art / settings_file(file)).read_text())["batch_invariance"] == entry
        assert batch_invariant(manifest, file, isa="arm64") == entry["invariant"]
        assert batch_invariant(manifest, file, isa="avx2") is None  # another CPU's rounding: unknown there
    assert measured["onnx/model_qrow_arm64.onnx"]["invariant"]  # batches padded to 4 tokens there
    x86 = measured["onnx/model_qrow_avx2.onnx"]
    assert x86["isa"] == host_isa() and x86["runtime"].startswith("onnxruntime ")
    assert batch_invariant(manifest, "onnx/model_qrow_avx2.onnx") == x86["invariant"]
    card = (art / "README.md").read_text()
    assert "on arm64" in card and f"on {host_isa()}" in card


def test_without_the_emulated_runtime_the_hosts_measurement_stands(kind_artifacts: KindArtifacts,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    from compress import emulation
    from export.emulated import arm64_invariance

    _, art = kind_artifacts[StudentKind.PRETRAINED]
    monkeypatch.setattr(emulation, "arm64_missing", lambda: "the emulated arm64 runtime is not set up (x missing)")
    with caplog.at_level(logging.WARNING):
        assert arm64_invariance(art, list(ARM64_FILES), probe_texts(8), 32, 0.9999) is None
    assert "measured on this host instead" in caplog.text and "scripts/setup-arm64.sh" in caplog.text


def _moved_elsewhere(src: Path, out: Path, floor: float) -> Path:
    """A copy of the artifact whose measurements all come from another instruction set, judged by ``floor``."""
    shutil.copytree(src, out)
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["batch_invariance"].values():
        entry.update(isa="another-cpu", floor=floor)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_a_host_without_its_own_measurement_measures_the_file_it_opens(exported: ExportResult, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    from serve.app import create_app
    from serve.embedder import Embedder

    trusted = Embedder(exported.out_dir, target="avx2", runtime="onnxruntime")
    assert trusted._invariant is True  # from the manifest: nothing measured at load
    art = _moved_elsewhere(exported.out_dir, tmp_path / "elsewhere", 0.9999)
    with caplog.at_level(logging.INFO, logger="serve.embedder"):
        rowwise = Embedder(art, target="avx2", runtime="onnxruntime", verify_checksums=False)
        assert rowwise._invariant is None and rowwise.batch_invariant  # measured here: row-wise is invariant
    assert "onnx/model_qrow_avx2.onnx: batch 1 vs 32/128 min cosine" in caplog.text and "on this host" in caplog.text
    assert create_app(rowwise).state.batcher.combine
    strict = Embedder(_moved_elsewhere(exported.out_dir, tmp_path / "strict", 1.5), target="avx2",
                      runtime="onnxruntime", verify_checksums=False)
    assert not strict.batch_invariant and not create_app(strict).state.batcher.combine  # judged by its floor


def test_probe_texts_are_fixed_and_of_mixed_lengths() -> None:
    texts = probe_texts()
    assert texts == probe_texts() and len(texts) == 128
    lengths = {len(t.split()) for t in texts}
    assert min(lengths) == 1 and max(lengths) == 48 and len(lengths) >= 8


def test_arm64_hosts_pad_batches_to_a_multiple_of_four_tokens(exported: ExportResult,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    import numpy as np

    from export.artifact.encoder import OnnxEncoder, pad_multiple

    assert (pad_multiple(256, "aarch64"), pad_multiple(256, "arm64"), pad_multiple(256, "x86_64")) == (4, 4, None)
    assert pad_multiple(510, "aarch64") is None  # padding could pass the model's positions: none
    file, texts = exported.out_dir / "onnx/model_qrow_avx2.onnx", ["one", "two words here", "a b c d e f g"]
    here = OnnxEncoder(file, exported.out_dir, 128)
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    arm = OnnxEncoder(file, exported.out_dir, 128)
    for text in texts:
        plain, padded = here.feeds([text])["input_ids"], arm.feeds([text])["input_ids"]
        assert padded.shape[1] % 4 == 0 and padded.shape[1] - plain.shape[1] < 4
    np.testing.assert_allclose(arm.encode(texts, 1), here.encode(texts, 1), atol=1e-5)  # pads are masked out
