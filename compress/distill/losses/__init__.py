"""Distillation losses, one file each (``<name>.py`` with its module and ``build(context)``), registered in
``compress.config.losses`` and combined by weight in ``DistillLoss``."""

from compress.distill.losses.attention import AttentionTransferLoss
from compress.distill.losses.build import build_losses
from compress.distill.losses.composite import DistillLoss, WeightedLoss
from compress.distill.losses.context import LossContext, default_layer_map
from compress.distill.losses.cosine import CosineDistillLoss
from compress.distill.losses.hidden import HiddenStateLoss
from compress.distill.losses.mse import MSEDistillLoss
from compress.distill.losses.similarity import SimilarityKLLoss

__all__ = ["AttentionTransferLoss", "CosineDistillLoss", "DistillLoss", "HiddenStateLoss", "LossContext",
           "MSEDistillLoss", "SimilarityKLLoss", "WeightedLoss", "build_losses", "default_layer_map"]
