"""Distillation losses, one file each, combined by weight in ``DistillLoss``."""

from compress.losses.attention import AttentionTransferLoss
from compress.losses.build import build_losses
from compress.losses.cosine import CosineDistillLoss
from compress.losses.distill import DistillLoss, WeightedLoss
from compress.losses.hidden import HiddenStateLoss, default_layer_map
from compress.losses.mse import MSEDistillLoss
from compress.losses.similarity import SimilarityKLLoss

__all__ = ["AttentionTransferLoss", "CosineDistillLoss", "DistillLoss", "HiddenStateLoss", "MSEDistillLoss",
           "SimilarityKLLoss", "WeightedLoss", "build_losses", "default_layer_map"]
