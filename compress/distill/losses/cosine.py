"""Cosine distance between student and teacher sentence embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class CosineDistillLoss(nn.Module):
    def forward(self, batch: DistillBatch) -> Tensor:
        return (1 - F.cosine_similarity(batch.student, batch.teacher, dim=-1)).mean()


def build(context: LossContext) -> nn.Module:
    return CosineDistillLoss()
