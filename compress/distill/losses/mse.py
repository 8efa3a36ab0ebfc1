"""Mean squared error between student and teacher sentence embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class MSEDistillLoss(nn.Module):
    def forward(self, batch: DistillBatch) -> Tensor:
        return F.mse_loss(batch.student, batch.teacher)


def build(context: LossContext) -> nn.Module:
    return MSEDistillLoss()
