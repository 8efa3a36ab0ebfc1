"""Keep what a pretrained student knew: its own in-batch similarity structure, held while it moves into the
teacher's space.

Before training, the pretrained model as it was published (every layer, its own pooling and normalization) embeds
each training text once (``compress.distill.prior``); in every batch, the student's cosine similarities between
the batch's texts are pulled toward that model's, beside the MSE that pulls its vectors toward the teacher's. The
two targets disagree where the teacher and the pretrained model rank pairs differently; the weight says how much
of the pretrained model's ranking to keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class KeepSimilarityLoss(nn.Module):
    def forward(self, batch: DistillBatch) -> Tensor:
        if batch.prior is None:
            raise ValueError("loss.keep needs the pretrained model's embeddings in the labels")
        student = F.normalize(batch.student, dim=-1)
        prior = F.normalize(batch.prior.to(student.dtype), dim=-1)
        off = ~torch.eye(len(student), dtype=torch.bool, device=student.device)
        return ((student @ student.T - prior @ prior.T)[off] ** 2).mean()


def build(context: LossContext) -> nn.Module | None:
    """None without the pretrained model's embeddings in the labels."""
    return KeepSimilarityLoss() if context.prior_dim else None
