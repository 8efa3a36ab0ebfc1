"""Forward hooks that capture each transformer block's output and its query/key/value projections."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from compress.distill.students.pruned import find_layer_list
from compress.errors import ConfigError

PROJECTION_NAMES = {
    "query": ("query", "q", "q_lin", "q_proj"),
    "key": ("key", "k", "k_lin", "k_proj"),
    "value": ("value", "v", "v_lin", "v_proj"),
}


def find_projections(layer: nn.Module) -> dict[str, nn.Linear]:
    found: dict[str, nn.Linear] = {}
    for name, module in layer.named_modules():
        for role, names in PROJECTION_NAMES.items():
            if isinstance(module, nn.Linear) and name.split(".")[-1] in names and role not in found:
                found[role] = module
    if len(found) != 3:
        raise ConfigError(f"cannot find query/key/value projections in {type(layer).__name__}",
                          "attention transfer supports BERT/MPNet/RoBERTa/DistilBERT-style layers; "
                          "set loss.attention = 0")
    return found


class LayerTaps:
    """Records block outputs (``hidden``) and q/k/v projections (``qkv``) while ``active`` is true."""

    def __init__(self, auto_model: nn.Module, hidden: bool, qkv: bool) -> None:
        self.layers = find_layer_list(auto_model)
        self.active = False
        self.hidden: list[Tensor] = [None] * len(self.layers)  # type: ignore[list-item]
        self.qkv: list[dict[str, Tensor]] = [{} for _ in self.layers]
        self._handles = []
        for index, layer in enumerate(self.layers):
            if hidden:
                self._handles.append(layer.register_forward_hook(self._hidden_hook(index)))
            if qkv:
                for role, linear in find_projections(layer).items():
                    self._handles.append(linear.register_forward_hook(self._qkv_hook(index, role)))

    def _hidden_hook(self, index: int) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if self.active:
                self.hidden[index] = output[0] if isinstance(output, tuple) else output
        return hook

    def _qkv_hook(self, index: int, role: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Tensor) -> None:
            if self.active:
                self.qkv[index][role] = output
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
