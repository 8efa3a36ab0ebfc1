"""Peers as their users run them: sentence-transformers' ONNX file pooled outside the graph and inside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from compress.bench.peer_exports import TokenPoolingEncoder, with_pooling
from compress.errors import CompressError
from export.artifact import layout
from export.artifact.encoder import OnnxEncoder
from export.pipeline import ExportResult
from tests.conftest import make_sentences


def test_pooling_outside_and_inside_the_graph_agree_with_sentence_transformers(tiny_student_dir: Path,
                                                                               tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    folder = tmp_path / "st"
    SentenceTransformer(str(tiny_student_dir), backend="onnx", device="cpu").save(str(folder))
    file = "onnx/model.onnx"
    texts = make_sentences(9, seed=41)
    max_length = layout.max_length_of(folder)
    outside = TokenPoolingEncoder(folder / file, folder, max_length).encode(texts, batch_size=4)
    pooled = with_pooling(folder, file)
    assert pooled == "onnx/model_pooled.onnx"
    assert [o.name for o in onnx.load(str(folder / pooled)).graph.output][-1] == layout.OUTPUT
    inside = OnnxEncoder(folder / pooled, folder, max_length).encode(texts, batch_size=4)
    np.testing.assert_allclose(inside, outside, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(inside, axis=1), 1.0, atol=1e-5)
    # the student's own pooling (mean) of the same token vectors, normalized
    tokens = SentenceTransformer(str(tiny_student_dir), device="cpu").encode(texts, output_value="token_embeddings")
    means = np.stack([t.numpy().mean(axis=0) for t in tokens])
    expected = means / np.linalg.norm(means, axis=1, keepdims=True)
    np.testing.assert_allclose(inside, expected, atol=1e-4)


def test_edge_profiles_are_checked_before_a_peer_is_exported(exported: ExportResult, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from compress.bench import stage
    from compress.config import load_config

    def no_export(name: str, cache_dir: Path) -> None:
        raise AssertionError(f"{name} was exported before the edge profile was checked")

    monkeypatch.setattr(stage, "peer_spec", no_export)
    config = load_config(None, ['bench.profiles=["rpi4"]', 'bench.peers=["all-MiniLM-L6-v2"]',
                                f"output.cache_dir='{tmp_path / 'cache'}'"])
    # the artifact has no arm64 file (or, without QEMU, the profile cannot run): refused either way, first
    with pytest.raises(CompressError, match=r"rpi4|arm64"):
        stage.run_bench_stage(config, "compress bench", tmp_path / "out", subjects=[str(exported.out_dir)])
