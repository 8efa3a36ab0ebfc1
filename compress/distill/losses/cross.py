"""Cross distillation: each student vector searches the batch's teacher vectors, as a student query searches the
teacher's document index.

The student's cosine to every teacher vector of the batch (its own text's included), divided by a temperature,
forms a distribution; the target is the teacher's own (its vector of the text against the same teacher vectors).
KL divergence, scaled by the temperature squared; the temperature schedule is the similarity loss's
(``loss.temperature`` -> ``temperature_end``). It needs no teacher pass beyond the cached targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch
from compress.distill.losses.similarity import SimilarityKLLoss, distribution_kl

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class CrossKLLoss(SimilarityKLLoss):
    def forward(self, batch: DistillBatch) -> Tensor:
        t = self.current_temperature()
        student = F.normalize(batch.student, dim=-1)
        teacher = F.normalize(batch.teacher, dim=-1)
        return distribution_kl(student @ teacher.T / t, teacher @ teacher.T / t, t)


def build(context: LossContext) -> nn.Module:
    return CrossKLLoss(context.config.temperature, context.config.temperature_end)
