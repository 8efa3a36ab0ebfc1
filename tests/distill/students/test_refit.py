from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from compress.config import MatchKind, StudentConfig, StudentKind
from compress.distill.students import build_student
from compress.distill.students.refit import HeldBack, refit_projection
from compress.metrics import fidelity
from tests.conftest import make_sentences


def _projection_student(teacher, other: Path, sentences: list[str], targets: np.ndarray):
    config = StudentConfig(kind=StudentKind.PRETRAINED, model=str(other), match=MatchKind.PROJECTION)
    return build_student(config, teacher, sentences, targets).model


def test_a_worse_projection_is_replaced_by_the_solved_one(tiny_teacher, tiny_other_dir: Path) -> None:
    train, held = make_sentences(200, seed=11), make_sentences(60, seed=12)
    targets, held_targets = (tiny_teacher.encode(s, convert_to_numpy=True) for s in (train, held))
    student = _projection_student(tiny_teacher, tiny_other_dir, train[:40], targets[:40])
    with torch.no_grad():  # a projection training left off its optimum
        student[2].linear.weight.mul_(0.3).add_(0.05 * torch.randn_like(student[2].linear.weight))
    before = fidelity(student.encode(held, convert_to_numpy=True), held_targets)["cosine"]

    refit = refit_projection(student, train, targets, HeldBack("sentences", held, held_targets))

    assert refit is not None and refit.kept and refit.texts == 200 and refit.judged_on == "sentences"
    assert abs(refit.before - before) < 1e-5  # judged on the vectors the student gives
    after = fidelity(student.encode(held, convert_to_numpy=True), held_targets)["cosine"]
    assert after > before and abs(after - refit.after) < 1e-5  # the student now carries the refit projection


def test_the_trained_projection_stays_when_the_refit_is_no_better(tiny_teacher, tiny_other_dir: Path) -> None:
    train, held = make_sentences(200, seed=13), make_sentences(60, seed=14)
    targets, held_targets = (tiny_teacher.encode(s, convert_to_numpy=True) for s in (train, held))
    student = _projection_student(tiny_teacher, tiny_other_dir, train, targets)
    first = refit_projection(student, train, targets, HeldBack("sentences", held, held_targets))
    weight = student[2].linear.weight.detach().clone()

    again = refit_projection(student, train, targets, HeldBack("sentences", held, held_targets))  # same solve

    assert first is not None and again is not None and not again.kept
    assert torch.equal(student[2].linear.weight, weight)


def test_a_student_without_a_projection_has_nothing_to_refit(tiny_teacher) -> None:
    sentences = make_sentences(20, seed=15)
    targets = tiny_teacher.encode(sentences, convert_to_numpy=True)
    pruned = build_student(StudentConfig(kind=StudentKind.PRUNED, num_layers=2), tiny_teacher, sentences, targets)
    assert refit_projection(pruned.model, sentences, targets, HeldBack("sentences", sentences, targets)) is None


def test_refit_is_refused_up_front_for_students_without_a_projection(tiny_config_toml: Path) -> None:
    import pytest

    from compress.config import load_config
    from compress.errors import ConfigError

    with pytest.raises(ConfigError, match=r"student\.refit"):
        load_config(tiny_config_toml, ["student.refit=true"])  # the tiny config's student is a pruned teacher
    with pytest.raises(ConfigError, match=r"student\.refit"):
        load_config(tiny_config_toml, ["student.kind=pretrained", "student.match=pca", "student.refit=true"])
    assert load_config(tiny_config_toml, ["student.kind=pretrained", "student.refit=true"]).student.refit
