"""The static (Model2Vec) student: built from the teacher by model2vec, exported as a padded-mean ONNX graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compress.config import ExportConfig, StudentConfig, StudentKind, Target, load_config
from compress.distill.students import build_student
from compress.errors import ConfigError
from tests.conftest import make_sentences


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory, tiny_teacher_dir: Path) -> Path:
    from sentence_transformers import SentenceTransformer

    teacher = SentenceTransformer(str(tiny_teacher_dir), device="cpu")
    sentences = make_sentences(80, seed=8)
    targets = teacher.encode(sentences, convert_to_numpy=True)
    built = build_student(StudentConfig(kind=StudentKind.STATIC, static_dims=16), teacher, sentences, targets)
    assert type(built.model[0]).__name__ == "StaticEmbedding" and built.pca is None
    out = tmp_path_factory.mktemp("static") / "st"
    built.model.save(str(out))
    return out


def test_static_student_matches_the_teacher_dimension(static_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(static_dir), device="cpu")
    out = model.encode(make_sentences(10, seed=9), convert_to_numpy=True)
    assert out.shape == (10, 32)  # 16-dim token vectors, projected to the teacher's 32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


def test_static_export_keeps_parity_and_serves(static_dir: Path, tmp_path: Path, sts_file: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from compress.data import load_sts
    from export.pipeline import export_artifact
    from serve import Embedder

    config = ExportConfig(targets=[Target("avx2")], gate_sentences=32, min_retention=50.0, min_cosine=0.9)
    result = export_artifact(static_dir, tmp_path / "art", config, make_sentences(60, seed=10), load_sts(sts_file))
    assert result.report["parity"]["min_cosine"] > 0.99999
    assert result.report["optimization"]["applied"] is False
    sentences = ["the man plays guitar .", "", "a dog " * 400]  # empty and over-long inputs too
    reference = SentenceTransformer(str(static_dir), device="cpu")
    reference[0].tokenizer.enable_truncation(256)
    embedder = Embedder(tmp_path / "art", target="fp32")
    got = embedder.encode(sentences)
    np.testing.assert_allclose(got, reference.encode(sentences, convert_to_numpy=True), atol=1e-5)
    # a lookup-and-mean graph runs one onnxruntime thread unless told otherwise
    assert embedder.threads == 1 and embedder.encoder.threads == 1
    assert Embedder(tmp_path / "art", target="fp32", threads=2).encoder.threads == 2


def test_static_student_refuses_layer_losses() -> None:
    with pytest.raises(ConfigError, match=r"loss\.hidden"):
        load_config(None, ["student.kind='static'", "loss.hidden=1.0"])
