"""Token-level targets: each of the student's final token states, through its own projection, to the teacher's
state at the same position (cached, ``compress.distill.token_cache``): about 22 targets per corpus sentence
instead of one.

Student and teacher must split text into the same word pieces (all-MiniLM-L6-v2 and all-mpnet-base-v2 do, apart
from the names of the special tokens); a row whose token counts differ (a text the two tokenizers split apart, or
one truncated at different lengths) is left out of this term and keeps its sentence target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from compress.distill.losses.batch import DistillBatch
from compress.errors import ConfigError

if TYPE_CHECKING:
    from compress.distill.losses.context import LossContext


class TokenStateLoss(nn.Module):
    """The sentence MSE's form, per aligned token: the mean squared error between the unit-length projected student
    state and the unit-length teacher state, (2 - 2 cos) / dim. Unit length because only directions matter (the
    sentence embedding is the normalized mean of these states); the same units as ``loss.mse`` on normalized
    embeddings, so ``loss.tokens = 1`` weighs a token as the sentence term weighs a sentence.

    ``student_layer`` and ``projection``: the targets are an intermediate teacher block's states
    (``loss.token_layer``), learned by that student block through this learned projection instead of the final
    states through the student's own one."""

    def __init__(self, student_layer: int | None = None, projection: nn.Module | None = None) -> None:
        super().__init__()
        self.student_layer = student_layer
        self.projection = projection

    def forward(self, batch: DistillBatch) -> Tensor:
        if batch.student_tokens is None or batch.teacher_tokens is None or batch.token_mask is None:
            raise ValueError("the token loss needs token states of student and teacher")
        cos = F.cosine_similarity(batch.student_tokens, batch.teacher_tokens.to(batch.student_tokens.dtype), dim=-1)
        mask = batch.token_mask.to(cos.dtype)
        per_token = (2 - 2 * cos) / batch.student_tokens.shape[-1]
        return (per_token * mask).sum() / mask.sum().clamp(min=1)


def token_projection(student: nn.Module) -> Callable[[Tensor], Tensor]:
    """What maps the student's token states into the teacher's space: its Dense layer after pooling (pooling is a
    mean, so projecting each token then pooling equals pooling then projecting), else nothing."""
    from sentence_transformers.sentence_transformer.modules import Dense

    dense = next((m for m in student.modules() if isinstance(m, Dense)), None)
    if dense is None:
        return lambda states: states
    return lambda states: dense.activation_function(dense.linear(states))


def build(context: LossContext) -> nn.Module | None:
    """Final token states through the student's own projection, or (``token_layer``) teacher block k's states
    learned by the student's block at the same relative depth (``default_layer_map``'s rule: round((k + 1) * S / T)
    - 1), through a projection of the loss's own. None without cached token states."""
    if context.token_targets is None:
        return None
    token_layer = context.config.token_layer
    if token_layer is None:
        return TokenStateLoss()
    s_layers, t_layers = context.layers
    if not 0 <= token_layer < t_layers:
        raise ConfigError(f"config key 'loss.token_layer' = {token_layer} is out of range; the teacher has "
                          f"{t_layers} layers", f"choose 0..{t_layers - 1}")
    block = max(0, round((token_layer + 1) * s_layers / t_layers) - 1)
    s_dim, t_dim = context.student_model.config.hidden_size, context.teacher_model.config.hidden_size
    return TokenStateLoss(block, nn.Linear(s_dim, t_dim))
