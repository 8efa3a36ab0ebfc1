"""A pruned student: a copy of the teacher that keeps only chosen transformer layers, and optionally the most
important feed-forward neurons of each (``student.ffn_size``): its residual stream stays the teacher's."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from torch import Tensor, nn

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


def ffn_linears(layer: nn.Module) -> tuple[nn.Module, nn.Linear, nn.Module, nn.Linear]:
    """A BERT-like block's feed-forward pair: ``intermediate`` and its ``dense`` (in), ``output`` and its ``dense``
    (out)."""
    intermediate, output = getattr(layer, "intermediate", None), getattr(layer, "output", None)
    inner, outer = getattr(intermediate, "dense", None), getattr(output, "dense", None)
    if not (isinstance(intermediate, nn.Module) and isinstance(output, nn.Module) and isinstance(inner, nn.Linear)
            and isinstance(outer, nn.Linear)):
        raise ConfigError(f"config key 'student.ffn_size': cannot find the feed-forward layers of "
                          f"{type(layer).__name__}", "set student.ffn_size only for BERT-like teachers (MPNet, BERT)")
    return intermediate, inner, output, outer


def neuron_importance(student: SentenceTransformer, sentences: list[str]) -> list[Tensor]:
    """Per block, each feed-forward neuron's mean |activation| over the tokens of ``sentences`` (one at a time: no
    padding) times the norm of its output weights: what it adds to the residual stream on such text."""
    import torch

    layers = find_layer_list(backbone(student))
    sums = [torch.zeros(ffn_linears(layer)[1].out_features) for layer in layers]
    counts = [0] * len(layers)

    def hook(index: int) -> Any:
        def record(_module: nn.Module, _inputs: Any, output: Tensor) -> None:
            flat = output.detach().float().reshape(-1, output.shape[-1])
            sums[index] += flat.abs().sum(0).cpu()
            counts[index] += flat.shape[0]
        return record

    handles = [ffn_linears(layer)[0].register_forward_hook(hook(i)) for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            student.encode(sentences, batch_size=1, show_progress_bar=False)
    finally:
        for handle in handles:
            handle.remove()
    return [s / max(c, 1) * ffn_linears(layer)[3].weight.detach().float().norm(dim=0).cpu()
            for s, c, layer in zip(sums, counts, layers, strict=True)]


def prune_ffn(student: SentenceTransformer, sentences: list[str], size: int) -> SentenceTransformer:
    """Keep ``size`` feed-forward neurons in every block of ``student`` (in place): the most important on
    ``sentences`` (``neuron_importance``), in their order. The config's ``intermediate_size`` says the new width,
    so the folder loads with stock transformers."""
    import torch
    from transformers.pytorch_utils import prune_linear_layer

    model = backbone(student)
    layers = find_layer_list(model)
    width = ffn_linears(layers[0])[1].out_features
    if not 1 <= size <= width:
        raise ConfigError(f"config key 'student.ffn_size' is {size}; the teacher's blocks have {width} "
                          "feed-forward neurons", f"choose 1..{width}")
    for layer, score in zip(layers, neuron_importance(student, sentences), strict=True):
        index = cast("torch.LongTensor", score.topk(size).indices.sort().values)
        intermediate, inner, output, outer = ffn_linears(layer)
        setattr(intermediate, "dense", prune_linear_layer(inner, index, dim=0))  # noqa: B010
        setattr(output, "dense", prune_linear_layer(outer, index, dim=1))  # noqa: B010
    model.config.intermediate_size = size
    return student
