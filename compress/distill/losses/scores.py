"""Scores against the teacher's index: each student vector's dot product with every teacher vector of the batch,
pulled to the teacher's own vector's.

A student query searches documents the teacher embedded, and its ranking is decided by its scores ``s . t_j``
against them, where the teacher's own query scores ``t . t_j``. Squared and averaged over the batch's teacher
vectors centred on their mean, the difference is ``(s - t)^T C (s - t)`` with ``C`` the teacher vectors'
covariance: the student's error counted where the teacher's vectors differ from one another (the directions that
rank documents) and not along their mean, which moves all of a query's scores alike and leaves its ranking. MSE
counts every direction alike; on a small budget of texts this term spends the student's capacity where rankings are
made. It needs no teacher pass beyond the cached targets.

Measured (``benchmarks/results/student_tries.md``, weight 10 beside query-shaped texts and ``keep = 0.1``): the
held-back cosine to the teacher rose (0.657 -> 0.675) and retrieval on the shared sets, another domain than the
corpus, fell (index retention 45.8 -> 36.9% mean). It is off in the recipe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class ScoreLoss(nn.Module):
    def forward(self, batch: DistillBatch) -> Tensor:
        teacher = batch.teacher.to(batch.student.dtype)
        centred = teacher - teacher.mean(dim=0, keepdim=True)
        return (((batch.student - teacher) @ centred.T) ** 2).mean()


def build(context: LossContext) -> nn.Module:
    return ScoreLoss()
