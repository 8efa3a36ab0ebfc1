"""Turn the ``[loss]`` config into loss modules for the trainer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from compress.config import LossConfig
from compress.errors import ConfigError
from compress.losses.attention import AttentionTransferLoss
from compress.losses.cosine import CosineDistillLoss
from compress.losses.distill import DistillLoss, WeightedLoss
from compress.losses.hidden import HiddenStateLoss, default_layer_map
from compress.losses.keep import KeepSimilarityLoss
from compress.losses.mse import MSEDistillLoss
from compress.losses.similarity import SimilarityKLLoss
from compress.losses.tokens import TokenStateLoss
from compress.models import backbone
from compress.students.pruned import find_layer_list

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from compress.token_cache import TokenTargets


def _check_shared_tokenizer(student: SentenceTransformer, teacher: SentenceTransformer) -> None:
    if student.tokenizer.get_vocab() != teacher.tokenizer.get_vocab():
        raise ConfigError("loss.hidden and loss.attention need student and teacher to share a tokenizer",
                          "use a pruned student, or set loss.hidden = 0 and loss.attention = 0")


def _layer_map(config: LossConfig, student_layers: int, teacher_layers: int, kept: list[int] | None) -> list[int]:
    """``loss.layer_map``, else the teacher layers a pruned student kept (block j learns the block it was copied
    from), else evenly spread."""
    if config.layer_map is None:
        if kept is not None and len(kept) == student_layers:
            return list(kept)
        return default_layer_map(student_layers, teacher_layers)
    if len(config.layer_map) != student_layers or not all(0 <= t < teacher_layers for t in config.layer_map):
        raise ConfigError(f"config key 'loss.layer_map' = {config.layer_map} must give one teacher layer "
                          f"(0..{teacher_layers - 1}) per student layer ({student_layers})")
    return list(config.layer_map)


def _internal_losses(config: LossConfig, student: SentenceTransformer, teacher: SentenceTransformer,
                     kept: list[int] | None) -> dict[str, tuple[float, nn.Module]]:
    _check_shared_tokenizer(student, teacher)
    s_model, t_model = backbone(student), backbone(teacher)
    layer_map = _layer_map(config, len(find_layer_list(s_model)), len(find_layer_list(t_model)), kept)
    s_dim, t_dim = s_model.config.hidden_size, t_model.config.hidden_size
    out: dict[str, tuple[float, nn.Module]] = {}
    if config.hidden > 0:
        out["hidden"] = (config.hidden, HiddenStateLoss(s_dim, t_dim, layer_map))
    if config.attention > 0:
        out["attention"] = (config.attention, AttentionTransferLoss(
            layer_map, config.attention_mode, s_model.config.num_attention_heads,
            t_model.config.num_attention_heads, s_dim, t_dim, config.relation_heads))
    return out


def _token_loss(config: LossConfig, student: SentenceTransformer, teacher: SentenceTransformer) -> TokenStateLoss:
    """Final token states through the student's own projection, or (``token_layer``) teacher block k's states
    learned by the student's block at the same relative depth (``default_layer_map``'s rule: round((k + 1) * S / T)
    - 1), through a projection of the loss's own."""
    if config.token_layer is None:
        return TokenStateLoss()
    s_model, t_model = backbone(student), backbone(teacher)
    s_layers, t_layers = len(find_layer_list(s_model)), len(find_layer_list(t_model))
    if not 0 <= config.token_layer < t_layers:
        raise ConfigError(f"config key 'loss.token_layer' = {config.token_layer} is out of range; the teacher has "
                          f"{t_layers} layers", f"choose 0..{t_layers - 1}")
    block = max(0, round((config.token_layer + 1) * s_layers / t_layers) - 1)
    return TokenStateLoss(block, nn.Linear(s_model.config.hidden_size, t_model.config.hidden_size))


def build_losses(config: LossConfig, student: SentenceTransformer, teacher: SentenceTransformer,
                 kept_layers: list[int] | None = None,
                 token_targets: TokenTargets | None = None,
                 prior_dim: int = 0) -> tuple[DistillLoss | None, nn.Module | None]:
    """The distillation loss (None when only the task loss is on) and the weighted task loss (or None).
    ``kept_layers``: for a pruned student, the teacher layer each of its blocks was copied from.
    ``token_targets``: the teacher's cached token states (``loss.tokens``; None: that term is off).
    ``prior_dim``: the width of the pretrained model's embeddings in the labels (``loss.keep``; 0: that term is
    off)."""
    components: dict[str, tuple[float, nn.Module]] = {}
    if config.mse > 0:
        components["mse"] = (config.mse, MSEDistillLoss())
    if config.cosine > 0:
        components["cosine"] = (config.cosine, CosineDistillLoss())
    if config.similarity > 0:
        components["similarity"] = (config.similarity, SimilarityKLLoss(config.temperature, config.temperature_end))
    if config.hidden > 0 or config.attention > 0:
        components.update(_internal_losses(config, student, teacher, kept_layers))
    if config.tokens > 0 and token_targets is not None:
        components["tokens"] = (config.tokens, _token_loss(config, student, teacher))
    if config.keep > 0 and prior_dim:
        components["keep"] = (config.keep, KeepSimilarityLoss())
    needs_teacher = "hidden" in components or "attention" in components
    distill = (DistillLoss(student, components, teacher if needs_teacher else None, token_targets, prior_dim)
               if components else None)
    task = None
    if config.task > 0:
        from sentence_transformers.losses import CoSENTLoss

        task = WeightedLoss(CoSENTLoss(student), config.task)
    return distill, task
