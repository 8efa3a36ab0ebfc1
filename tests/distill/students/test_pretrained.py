from __future__ import annotations

from pathlib import Path

import numpy as np

from compress.config import MatchKind, StudentConfig, StudentKind
from compress.distill.students import Pca, build_student, fit_linear_map
from tests.conftest import make_sentences


def test_fit_linear_map_recovers_a_known_map() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    w_true, b_true = rng.normal(size=(5, 8)), rng.normal(size=5)
    weight, bias = fit_linear_map(x, x @ w_true.T + b_true, ridge=1e-8)
    np.testing.assert_allclose(weight, w_true, atol=1e-4)
    np.testing.assert_allclose(bias, b_true, atol=1e-4)


def test_pca_shapes_and_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.normal(size=(100, 12)).astype(np.float32)
    pca = Pca.fit(data, 4)
    assert pca.components.shape == (4, 12) and pca.mean.shape == (12,)
    reduced = pca.transform(data, normalize=True)
    assert reduced.shape == (100, 4)
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), 1, atol=1e-5)
    assert 0 < pca.explained_variance_ratio < 1
    pca.save(tmp_path)
    loaded = Pca.load(tmp_path)
    np.testing.assert_array_equal(loaded.components, pca.components)
    assert loaded.explained_variance_ratio == pca.explained_variance_ratio


def _targets(teacher, sentences: list[str]) -> np.ndarray:
    return teacher.encode(sentences, convert_to_numpy=True)


def test_projection_student_starts_close_to_the_teacher(tiny_teacher, tiny_other_dir: Path) -> None:
    sentences = make_sentences(120, seed=5)
    targets = _targets(tiny_teacher, sentences)
    config = StudentConfig(kind=StudentKind.PRETRAINED, model=str(tiny_other_dir), match=MatchKind.PROJECTION)
    built = build_student(config, tiny_teacher, sentences, targets)
    assert built.pca is None
    out = built.model.encode(sentences, convert_to_numpy=True)
    assert out.shape == (120, 32)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)  # teacher normalizes, so does the student
    fitted = ((out - targets) ** 2).mean()
    baseline = ((targets - targets.mean(axis=0)) ** 2).mean()  # predicting the mean embedding
    assert fitted < baseline


def test_pca_student_keeps_its_own_dimension(tiny_teacher, tiny_other_dir: Path) -> None:
    sentences = make_sentences(60, seed=6)
    config = StudentConfig(kind=StudentKind.PRETRAINED, model=str(tiny_other_dir), match=MatchKind.PCA)
    built = build_student(config, tiny_teacher, sentences, _targets(tiny_teacher, sentences))
    assert built.pca is not None and built.pca.components.shape == (16, 32)
    assert built.model.get_embedding_dimension() == 16


def test_pretrained_student_can_drop_layers(tiny_teacher, tiny_teacher_dir: Path) -> None:
    from compress.distill.students import find_layer_list
    from compress.models import backbone

    sentences = make_sentences(40, seed=7)
    config = StudentConfig(kind=StudentKind.PRETRAINED, model=str(tiny_teacher_dir), keep_layers=[0, 3])
    built = build_student(config, tiny_teacher, sentences, _targets(tiny_teacher, sentences))
    assert len(find_layer_list(backbone(built.model))) == 2
    assert backbone(built.model).config.num_hidden_layers == 2
    assert len(find_layer_list(backbone(tiny_teacher))) == 4  # the teacher is untouched
