"""Attention transfer from mapped teacher layers.

``distribution``: the student's per-head attention distributions (softmax(QK^T/sqrt(d))) learn the teacher's,
by KL divergence; needs equal head counts. ``relation`` (MiniLMv2): query-query, key-key and value-value
self-attention relations over ``relation_heads`` heads; works for any head count and hidden size that the
relation heads divide. Attention is recomputed from the captured projections, so a position bias that the
model adds inside attention (MPNet's relative bias) is not part of the transferred distribution.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from compress.config import AttentionMode
from compress.distill.losses.batch import DistillBatch
from compress.errors import ConfigError

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


def _split(x: Tensor, heads: int) -> Tensor:
    batch, seq, hidden = x.shape
    return x.view(batch, seq, heads, hidden // heads).transpose(1, 2)  # (batch, heads, seq, d)


def _log_softmax_scores(a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
    scores = a @ b.transpose(-1, -2) / math.sqrt(a.shape[-1])
    scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
    return F.log_softmax(scores, dim=-1)


def _masked_kl(teacher_log: Tensor, student_log: Tensor, mask: Tensor) -> Tensor:
    """KL(teacher || student) per query row, averaged over real (non-padding) query tokens and heads."""
    kl = (teacher_log.exp() * (teacher_log - student_log)).masked_fill(~mask[:, None, None, :], 0).sum(-1)
    rows = mask[:, None, :].expand_as(kl)
    return kl[rows].mean()


class AttentionTransferLoss(nn.Module):
    def __init__(self, layer_map: list[int], mode: AttentionMode, student_heads: int, teacher_heads: int,
                 student_dim: int, teacher_dim: int, relation_heads: int = 12) -> None:
        super().__init__()
        if mode is AttentionMode.AUTO:
            mode = AttentionMode.DISTRIBUTION if student_heads == teacher_heads else AttentionMode.RELATION
        if mode is AttentionMode.DISTRIBUTION and student_heads != teacher_heads:
            raise ConfigError(f"loss.attention_mode 'distribution' needs equal head counts; student has "
                              f"{student_heads}, teacher {teacher_heads}",
                              "set loss.attention_mode = 'relation' (MiniLMv2-style) or 'auto'")
        if mode is AttentionMode.RELATION and (student_dim % relation_heads or teacher_dim % relation_heads):
            raise ConfigError(f"loss.relation_heads = {relation_heads} must divide both hidden sizes "
                              f"({student_dim}, {teacher_dim})", "choose a common divisor, e.g. 12 or 16")
        self.layer_map = list(layer_map)
        self.mode = mode
        self.student_heads, self.teacher_heads, self.relation_heads = student_heads, teacher_heads, relation_heads

    def forward(self, batch: DistillBatch) -> Tensor:
        mask = batch.mask().to(torch.bool)
        total = batch.student.new_zeros(())
        for j, t_layer in enumerate(self.layer_map):
            s, t = batch.student_qkv[j], batch.teacher_qkv[t_layer]
            if self.mode is AttentionMode.DISTRIBUTION:
                s_log = _log_softmax_scores(_split(s["query"], self.student_heads),
                                            _split(s["key"], self.student_heads), mask)
                t_log = _log_softmax_scores(_split(t["query"], self.teacher_heads),
                                            _split(t["key"], self.teacher_heads), mask)
                total = total + _masked_kl(t_log, s_log, mask)
                continue
            for name in ("query", "key", "value"):
                s_x, t_x = _split(s[name], self.relation_heads), _split(t[name], self.relation_heads)
                total = total + _masked_kl(_log_softmax_scores(t_x, t_x, mask),
                                           _log_softmax_scores(s_x, s_x, mask), mask) / 3
        return total / len(self.layer_map)


def build(context: LossContext) -> nn.Module:
    s_model, t_model = context.student_model, context.teacher_model
    config = context.config
    return AttentionTransferLoss(context.layer_map, config.attention_mode, s_model.config.num_attention_heads,
                                 t_model.config.num_attention_heads, s_model.config.hidden_size,
                                 t_model.config.hidden_size, config.relation_heads)
