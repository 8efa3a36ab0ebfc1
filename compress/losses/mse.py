"""Mean squared error between student and teacher sentence embeddings."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from compress.losses.batch import DistillBatch


class MSEDistillLoss(nn.Module):
    def forward(self, batch: DistillBatch) -> Tensor:
        return F.mse_loss(batch.student, batch.teacher)
