"""Similarity distillation: KL divergence between teacher and student softmax over in-batch similarities.

Each sentence's cosine similarities to the other sentences of the batch, divided by a temperature, form a
distribution; the student learns the teacher's. The temperature may be annealed (geometrically) from
``temperature`` to ``temperature_end`` over training: ``progress`` in [0, 1] is set by a trainer callback.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class SimilarityKLLoss(nn.Module):
    def __init__(self, temperature: float = 0.05, temperature_end: float | None = None) -> None:
        super().__init__()
        self.temperature = temperature
        self.temperature_end = temperature_end
        self.progress = 0.0

    def current_temperature(self) -> float:
        if self.temperature_end is None:
            return self.temperature
        p = min(max(self.progress, 0.0), 1.0)
        return math.exp((1 - p) * math.log(self.temperature) + p * math.log(self.temperature_end))

    def forward(self, batch: DistillBatch) -> Tensor:
        t = self.current_temperature()
        student = F.normalize(batch.student, dim=-1)
        teacher = F.normalize(batch.teacher, dim=-1)
        eye = torch.eye(len(student), dtype=torch.bool, device=student.device)
        return distribution_kl((student @ student.T / t).masked_fill(eye, -1e4),
                               (teacher @ teacher.T / t).masked_fill(eye, -1e4), t)


def distribution_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """KL from the teacher's row-wise softmax to the student's, scaled by the temperature squared."""
    kl = F.kl_div(F.log_softmax(student_logits, -1), F.log_softmax(teacher_logits, -1), log_target=True,
                  reduction="batchmean")
    return kl * temperature * temperature


def build(context: LossContext) -> nn.Module:
    return SimilarityKLLoss(context.config.temperature, context.config.temperature_end)
