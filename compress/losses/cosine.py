"""Cosine distance between student and teacher sentence embeddings."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from compress.losses.batch import DistillBatch


class CosineDistillLoss(nn.Module):
    def forward(self, batch: DistillBatch) -> Tensor:
        return (1 - F.cosine_similarity(batch.student, batch.teacher, dim=-1)).mean()
