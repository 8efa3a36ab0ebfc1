"""Hidden-state matching: chosen student layers, through learned projections, to mapped teacher layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class HiddenStateLoss(nn.Module):
    """``layer_map[j]`` is the teacher layer (0-based block index) that student block ``j`` learns."""

    def __init__(self, student_dim: int, teacher_dim: int, layer_map: list[int]) -> None:
        super().__init__()
        self.layer_map = list(layer_map)
        projections = [nn.Linear(student_dim, teacher_dim) for _ in layer_map]
        if student_dim == teacher_dim:
            for proj in projections:
                nn.init.eye_(proj.weight)
                nn.init.zeros_(proj.bias)
        self.projections = nn.ModuleList(projections)

    def forward(self, batch: DistillBatch) -> Tensor:
        mask = batch.mask().unsqueeze(-1).to(batch.student.dtype)
        tokens = mask.sum().clamp(min=1)
        total = batch.student.new_zeros(())
        for j, (t_layer, proj) in enumerate(zip(self.layer_map, self.projections, strict=True)):
            diff = proj(batch.student_hidden[j]) - batch.teacher_hidden[t_layer]
            total = total + ((diff**2) * mask).sum() / (tokens * diff.shape[-1])
        return total / len(self.layer_map)


def build(context: LossContext) -> nn.Module:
    s_model, t_model = context.student_model, context.teacher_model
    return HiddenStateLoss(s_model.config.hidden_size, t_model.config.hidden_size, context.layer_map)
