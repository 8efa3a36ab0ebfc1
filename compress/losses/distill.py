"""The weighted sum of the configured loss components, as a sentence-transformers loss module.

The distillation dataset has one text column and a ``label`` column holding the teacher (target)
embedding. Hidden-state and attention losses need the teacher's internals, so the frozen teacher runs on
the same token ids inside the loss (student and teacher must share a tokenizer for them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from compress.losses.batch import DistillBatch
from compress.losses.taps import LayerTaps
from compress.models import backbone

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


class DistillLoss(nn.Module):
    def __init__(self, model: SentenceTransformer, components: dict[str, tuple[float, nn.Module]],
                 teacher: SentenceTransformer | None = None) -> None:
        super().__init__()
        self.model = model
        self.components = nn.ModuleDict({name: module for name, (_, module) in components.items()})
        self.weights = {name: weight for name, (weight, _) in components.items()}
        needs_hidden = "hidden" in components
        needs_qkv = "attention" in components
        self.teacher = teacher
        self.student_taps = self.teacher_taps = None
        if needs_hidden or needs_qkv:
            if teacher is None:
                raise ValueError("hidden-state and attention losses need the teacher")
            teacher.eval().requires_grad_(False)
            self.student_taps = LayerTaps(backbone(model), needs_hidden, needs_qkv)
            self.teacher_taps = LayerTaps(backbone(teacher), needs_hidden, needs_qkv)

    def trainable_state(self) -> dict[str, Tensor]:
        """The loss's own learned weights (projections), for checkpoints; not the student's or teacher's."""
        return {f"components.{k}": v for k, v in self.components.state_dict().items()}

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> dict[str, Tensor]:
        features = next(iter(sentence_features))
        inputs = {k: v for k, v in features.items() if k in INPUT_KEYS}
        if self.student_taps is not None:
            self.student_taps.active = True
        try:
            student = self.model(features)["sentence_embedding"]
        finally:
            if self.student_taps is not None:
                self.student_taps.active = False
        batch = DistillBatch(student=student, teacher=labels.to(student.dtype),
                             attention_mask=inputs.get("attention_mask"))
        if self.student_taps is not None and self.teacher_taps is not None and self.teacher is not None:
            self.teacher_taps.active = True
            try:
                with torch.no_grad():
                    self.teacher(dict(inputs))
            finally:
                self.teacher_taps.active = False
            batch.student_hidden, batch.teacher_hidden = self.student_taps.hidden, self.teacher_taps.hidden
            batch.student_qkv, batch.teacher_qkv = self.student_taps.qkv, self.teacher_taps.qkv
        return {name: self.weights[name] * module(batch) for name, module in self.components.items()}


class WeightedLoss(nn.Module):
    """Scale another sentence-transformers loss (the task loss) by a weight."""

    def __init__(self, loss: nn.Module, weight: float) -> None:
        super().__init__()
        self.loss = loss
        self.weight = weight

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.weight * self.loss(sentence_features, labels)
