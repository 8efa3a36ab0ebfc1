"""A pruned student: a copy of the teacher that keeps only chosen transformer layers."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from torch import nn

from compress.errors import ConfigError
from compress.models import backbone

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def find_layer_list(module: nn.Module) -> nn.ModuleList:
    """The encoder's list of transformer blocks (``encoder.layer`` in BERT/MPNet, ``transformer.layer``...)."""
    for name, child in module.named_modules():
        if isinstance(child, nn.ModuleList) and name.split(".")[-1] in ("layer", "layers") and len(child) > 0:
            return child
    raise ConfigError(f"cannot find the transformer layers in {type(module).__name__}",
                      "layer pruning and layer losses support BERT-like encoders (encoder.layer)")


def evenly_spread(total: int, count: int) -> list[int]:
    """``count`` layer indices spread over ``total`` layers, first and last included."""
    if not 1 <= count <= total:
        raise ConfigError(f"config key 'student.num_layers' is {count}; the teacher has {total} layers",
                          f"choose 1..{total}")
    if count == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def prune_layers(teacher: SentenceTransformer, keep: list[int]) -> SentenceTransformer:
    """A deep copy of ``teacher`` with only the layers in ``keep`` (in that order)."""
    total = len(find_layer_list(backbone(teacher)))
    bad = [i for i in keep if not 0 <= i < total]
    if bad:
        raise ConfigError(f"config key 'student.keep_layers' = {keep}: layer {bad[0]} is out of range; the model "
                          f"has {total} layers (0..{total - 1})", f"use distinct indices in 0..{total - 1}")
    if not keep or len(set(keep)) != len(keep):
        raise ConfigError(f"config key 'student.keep_layers' = {keep} is not a list of distinct layers",
                          f"use distinct indices in 0..{total - 1}")
    student = copy.deepcopy(teacher)
    auto_model = backbone(student)
    layers = find_layer_list(auto_model)
    kept = nn.ModuleList([layers[i] for i in keep])
    name = next(n for n, m in auto_model.named_modules() if m is layers)
    parent, _, child = name.rpartition(".")
    setattr(auto_model.get_submodule(parent), child, kept)
    auto_model.config.num_hidden_layers = len(keep)
    for index, layer in enumerate(kept):  # keep each block's own index consistent (used by kv caches)
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                setattr(module, "layer_idx", index)  # noqa: B010
    return student
