from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from compress.distill.losses import CosineDistillLoss, MSEDistillLoss, SimilarityKLLoss
from compress.distill.losses.batch import DistillBatch
from compress.distill.losses.cross import CrossKLLoss
from compress.distill.losses.scores import ScoreLoss


def falls(loss: nn.Module, steps: int = 60) -> tuple[float, float]:
    """Optimize free student embeddings toward fixed teacher ones; return (first, last) loss."""
    torch.manual_seed(0)
    teacher = torch.randn(8, 6)
    student = nn.Parameter(torch.randn(8, 6))
    optimizer = torch.optim.Adam([student], lr=0.05)
    values = []
    for _ in range(steps):
        value = loss(DistillBatch(student=student, teacher=teacher, attention_mask=torch.ones(8, 3)))
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        values.append(value.item())
    return values[0], values[-1]


@pytest.mark.parametrize("loss", [MSEDistillLoss(), CosineDistillLoss(), SimilarityKLLoss(temperature=0.1),
                                  CrossKLLoss(temperature=0.1), ScoreLoss()])
def test_loss_falls_on_a_toy_batch(loss: nn.Module) -> None:
    first, last = falls(loss)
    assert last < 0.3 * first


def test_losses_are_zero_when_student_equals_teacher() -> None:
    x = torch.randn(5, 4)
    batch = DistillBatch(student=x, teacher=x.clone(), attention_mask=torch.ones(5, 2))
    for loss in (MSEDistillLoss(), CosineDistillLoss(), SimilarityKLLoss(0.05), CrossKLLoss(0.05), ScoreLoss()):
        assert float(loss(batch)) == pytest.approx(0.0, abs=1e-5)


def test_similarity_is_scale_free_but_not_shape_free() -> None:
    x = torch.randn(6, 4)
    scaled = DistillBatch(student=3 * x, teacher=x, attention_mask=torch.ones(6, 1))
    shuffled = DistillBatch(student=x[torch.randperm(6)], teacher=x, attention_mask=torch.ones(6, 1))
    loss = SimilarityKLLoss(0.05)
    assert float(loss(scaled)) == pytest.approx(0.0, abs=1e-5)
    assert float(loss(shuffled)) > 0.01


def test_temperature_schedule_anneals_geometrically() -> None:
    loss = SimilarityKLLoss(temperature=0.2, temperature_end=0.02)
    loss.progress = 0.0
    assert loss.current_temperature() == pytest.approx(0.2)
    loss.progress = 0.5
    assert loss.current_temperature() == pytest.approx(math.sqrt(0.2 * 0.02))
    loss.progress = 1.0
    assert loss.current_temperature() == pytest.approx(0.02)
    assert SimilarityKLLoss(0.07).current_temperature() == 0.07


def test_keep_loss_holds_the_pretrained_models_similarities_not_its_vectors() -> None:
    from compress.distill.losses.keep import KeepSimilarityLoss

    torch.manual_seed(0)
    prior = torch.randn(8, 4)
    rotated = torch.cat([prior, torch.zeros(8, 2)], dim=1) @ torch.linalg.qr(torch.randn(6, 6))[0]
    loss = KeepSimilarityLoss()
    same = loss(DistillBatch(student=3 * rotated, teacher=torch.randn(8, 6), attention_mask=None, prior=prior))
    assert same.item() == pytest.approx(0.0, abs=1e-10)  # another space and scale, the same similarities
    student = nn.Parameter(torch.randn(8, 6))
    before = loss(DistillBatch(student=student, teacher=torch.randn(8, 6), attention_mask=None, prior=prior))
    before.backward()
    assert before.item() > 0.05 and student.grad is not None and student.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"loss\.keep"):
        loss(DistillBatch(student=student, teacher=torch.randn(8, 6), attention_mask=None))


def test_cross_scores_the_student_against_the_teachers_vectors_not_its_own() -> None:
    torch.manual_seed(0)
    teacher = torch.randn(6, 4)
    rotation = torch.linalg.qr(torch.randn(4, 4))[0]
    rotated = DistillBatch(student=teacher @ rotation, teacher=teacher, attention_mask=None)
    assert float(SimilarityKLLoss(0.05)(rotated)) == pytest.approx(0.0, abs=1e-4)  # same similarities, another space
    assert float(CrossKLLoss(0.05)(rotated)) > 0.01  # its queries would not find the teacher's documents
    scaled = DistillBatch(student=5 * teacher, teacher=teacher, attention_mask=None)
    assert float(CrossKLLoss(0.05)(scaled)) == pytest.approx(0.0, abs=1e-5)  # cosine: scale-free


def test_scores_count_the_error_where_the_teachers_vectors_differ_not_along_their_mean() -> None:
    """An error along the teacher vectors' shared mean moves every score of a query alike (its ranking stays): no
    loss. The same-sized error inside the span where they differ reorders documents: a loss, and MSE cannot tell
    the two apart."""
    torch.manual_seed(0)
    spread = torch.zeros(6, 8)
    spread[:, :5] = torch.randn(6, 5)
    mean = torch.zeros(8)
    mean[7] = 1.0
    teacher = spread - spread.mean(dim=0) + mean
    along_mean = DistillBatch(student=teacher + 0.3 * mean, teacher=teacher, attention_mask=None)
    inside = torch.zeros(8)
    inside[0] = 0.3
    across = DistillBatch(student=teacher + inside, teacher=teacher, attention_mask=None)
    assert float(MSEDistillLoss()(along_mean)) == pytest.approx(float(MSEDistillLoss()(across)))
    assert float(ScoreLoss()(along_mean)) == pytest.approx(0.0, abs=1e-10)
    assert float(ScoreLoss()(across)) > 0.01
