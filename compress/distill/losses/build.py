"""Turn the ``[loss]`` config into loss modules for the trainer, from the loss registry
(``compress.config.losses``): each loss with a weight above 0 is built by ``build(context)`` of its own file,
``compress/distill/losses/<name>.py``, in the registry's order."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from torch import nn

from compress.config import LOSSES, LossConfig
from compress.distill.losses.composite import DistillLoss
from compress.distill.losses.context import LossContext

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from compress.distill.token_cache import TokenTargets

INSIDE_MODELS = ("hidden", "attention")  # terms computed on the teacher's internals: the teacher runs in the loss


def build_loss(name: str, context: LossContext) -> nn.Module | None:
    """The registered loss ``name``'s module (None: off for lack of its input, such as cached token states)."""
    module = importlib.import_module(f"{__package__}.{name}")
    built: nn.Module | None = module.build(context)
    return built


def build_losses(config: LossConfig, student: SentenceTransformer, teacher: SentenceTransformer,
                 kept_layers: list[int] | None = None,
                 token_targets: TokenTargets | None = None,
                 prior_dim: int = 0) -> tuple[DistillLoss | None, nn.Module | None]:
    """The distillation loss (None when only the task loss is on) and the weighted task loss (or None).
    ``kept_layers``: for a pruned student, the teacher layer each of its blocks was copied from.
    ``token_targets``: the teacher's cached token states (``loss.tokens``; None: that term is off).
    ``prior_dim``: the width of the pretrained model's embeddings in the labels (``loss.keep``; 0: that term is
    off)."""
    context = LossContext(config, student, teacher, kept_layers, token_targets, prior_dim)
    components: dict[str, tuple[float, nn.Module]] = {}
    task = None
    for spec in LOSSES:
        weight = config.weight(spec.name)
        if weight <= 0:
            continue
        built = build_loss(spec.name, context)
        if built is None:
            continue
        if spec.term:
            components[spec.name] = (weight, built)
        else:
            task = built
    needs_teacher = any(name in components for name in INSIDE_MODELS)
    distill = (DistillLoss(student, components, teacher if needs_teacher else None, token_targets, prior_dim)
               if components else None)
    return distill, task
