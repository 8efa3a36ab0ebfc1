"""The weighted sum of the configured loss components, as a sentence-transformers loss module.

The distillation dataset has one text column and a ``label`` column holding the teacher (target)
embedding. Hidden-state and attention losses need the teacher's internals, so the frozen teacher runs on
the same token ids inside the loss (student and teacher must share a tokenizer for them). The token loss reads
the teacher's cached token states instead: then the label's last value is the row's index in that cache (-1: a
row without token targets, such as a passage). The keep loss reads the pretrained model's own embedding of the
text, ``prior_dim`` values placed after the target (and before that index).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch
from compress.distill.losses.tokens import TokenStateLoss, token_projection
from compress.distill.taps import LayerTaps
from compress.models import backbone

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from compress.distill.token_cache import TokenTargets

INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


class DistillLoss(nn.Module):
    def __init__(self, model: SentenceTransformer, components: dict[str, tuple[float, nn.Module]],
                 teacher: SentenceTransformer | None = None, token_targets: TokenTargets | None = None,
                 prior_dim: int = 0) -> None:
        super().__init__()
        self.model = model
        self.prior_dim = prior_dim if "keep" in components else 0
        self.token_targets = token_targets if "tokens" in components else None
        self.project = token_projection(model)
        self.components = nn.ModuleDict({name: module for name, (_, module) in components.items()})
        self.weights = {name: weight for name, (weight, _) in components.items()}
        needs_hidden = "hidden" in components
        needs_qkv = "attention" in components
        token_loss = components.get("tokens", (0.0, None))[1]
        self.token_layer = token_loss.student_layer if isinstance(token_loss, TokenStateLoss) else None
        self.teacher = teacher
        self.student_taps = self.teacher_taps = None
        if needs_hidden or needs_qkv:
            if teacher is None:
                raise ValueError("hidden-state and attention losses need the teacher")
            teacher.eval().requires_grad_(False)
            self.teacher_taps = LayerTaps(backbone(teacher), needs_hidden, needs_qkv)
        if needs_hidden or needs_qkv or self.token_layer is not None:
            self.student_taps = LayerTaps(backbone(model), needs_hidden or self.token_layer is not None, needs_qkv)

    def trainable_state(self) -> dict[str, Tensor]:
        """The loss's own learned weights (projections), for checkpoints; not the student's or teacher's."""
        return {f"components.{k}": v for k, v in self.components.state_dict().items()}

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> dict[str, Tensor]:
        features = next(iter(sentence_features))
        inputs = {k: v for k, v in features.items() if k in INPUT_KEYS}
        if self.student_taps is not None:
            self.student_taps.active = True
        try:
            out = self.model(features)
        finally:
            if self.student_taps is not None:
                self.student_taps.active = False
        student = out["sentence_embedding"]
        rows = labels[:, -1] if self.token_targets is not None else None
        labels = labels[:, :-1] if rows is not None else labels
        prior = labels[:, -self.prior_dim:] if self.prior_dim else None
        labels = labels[:, :-self.prior_dim] if self.prior_dim else labels
        batch = DistillBatch(student=student, teacher=labels.to(student.dtype),
                             attention_mask=inputs.get("attention_mask"), prior=prior)
        if rows is not None:
            batch.student_tokens = self._student_tokens(out["token_embeddings"])
            batch.teacher_tokens, batch.token_mask = self._teacher_tokens(rows, out["attention_mask"])
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


    def _student_tokens(self, final: Tensor) -> Tensor:
        """The student's token states in the teacher's space: the final ones through its projection, or (an
        intermediate target) its mapped block's output through the token loss's own projection."""
        loss = dict(self.components.items()).get("tokens")
        if self.token_layer is None or self.student_taps is None or not isinstance(loss, TokenStateLoss) \
                or loss.projection is None:
            return self.project(final)
        return loss.projection(self.student_taps.hidden[self.token_layer])

    def _teacher_tokens(self, rows: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """The cached teacher states of each row, padded to the student's length, and where they align."""
        if self.token_targets is None:
            raise ValueError("no token targets")
        batch, length = mask.shape
        dim = self.token_targets.pooled.shape[1]
        teacher = torch.zeros(batch, length, dim, dtype=torch.float32)
        aligned = torch.zeros(batch, length, dtype=torch.float32)
        for row, index in enumerate(rows.round().long().tolist()):
            n_student = int(mask[row].sum())
            if index < 0:
                continue
            states = self.token_targets.tokens(index)
            if len(states) != n_student:  # split or cut apart: no position-wise target
                continue
            teacher[row, :n_student] = torch.from_numpy(states.astype("float32"))
            aligned[row, :n_student] = 1.0
        return teacher.to(mask.device), aligned.to(mask.device)


class WeightedLoss(nn.Module):
    """Scale another sentence-transformers loss (the task loss) by a weight."""

    def __init__(self, loss: nn.Module, weight: float) -> None:
        super().__init__()
        self.loss = loss
        self.weight = weight

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.weight * self.loss(sentence_features, labels)
