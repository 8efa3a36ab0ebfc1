"""The task loss: CoSENT on labeled STS pairs (``data.sts_train``), a loss of its own beside the distillation loss
(it reads pairs, not the teacher's targets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from compress.distill.losses.composite import WeightedLoss

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


def build(context: LossContext) -> nn.Module:
    from sentence_transformers.losses import CoSENTLoss

    return WeightedLoss(CoSENTLoss(context.student), context.config.weight("task"))
