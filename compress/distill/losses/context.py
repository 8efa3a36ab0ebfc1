"""What a loss's ``build`` is given: the ``[loss]`` config, the student and the teacher, and the inputs some losses
need (the teacher layers a pruned student kept, the cached token states, the pretrained model's embeddings)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compress.config import LossConfig
from compress.distill.students.pruned import find_layer_list
from compress.errors import ConfigError
from compress.models import backbone

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from compress.distill.token_cache import TokenTargets


@dataclass(frozen=True)
class LossContext:
    config: LossConfig
    student: SentenceTransformer
    teacher: SentenceTransformer
    kept_layers: list[int] | None = None  # a pruned student: the teacher layer each of its blocks was copied from
    token_targets: TokenTargets | None = None  # loss.tokens: the teacher's cached token states (None: off)
    prior_dim: int = 0  # loss.keep: the width of the pretrained model's embeddings in the labels (0: off)

    @property
    def student_model(self) -> Any:
        return backbone(self.student)

    @property
    def teacher_model(self) -> Any:
        return backbone(self.teacher)

    @functools.cached_property
    def layers(self) -> tuple[int, int]:
        """(student blocks, teacher blocks)."""
        return len(find_layer_list(self.student_model)), len(find_layer_list(self.teacher_model))

    @functools.cached_property
    def layer_map(self) -> list[int]:
        """For the losses inside the models (hidden states, attention; worked out once for both):
        ``loss.layer_map``, else the teacher layers a pruned student kept (block j learns the block it was copied
        from), else evenly spread. Student and teacher must share a tokenizer."""
        if self.student.tokenizer.get_vocab() != self.teacher.tokenizer.get_vocab():
            raise ConfigError("loss.hidden and loss.attention need student and teacher to share a tokenizer",
                              "use a pruned student, or set loss.hidden = 0 and loss.attention = 0")
        student_layers, teacher_layers = self.layers
        chosen = self.config.layer_map
        if chosen is None:
            kept = self.kept_layers
            if kept is not None and len(kept) == student_layers:
                return list(kept)
            return default_layer_map(student_layers, teacher_layers)
        if len(chosen) != student_layers or not all(0 <= t < teacher_layers for t in chosen):
            raise ConfigError(f"config key 'loss.layer_map' = {chosen} must give one teacher layer "
                              f"(0..{teacher_layers - 1}) per student layer ({student_layers})")
        return list(chosen)


def default_layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Student block j learns teacher block round((j+1) * T / S) - 1: the last learns the last."""
    return [max(0, round((j + 1) * teacher_layers / student_layers) - 1) for j in range(student_layers)]
