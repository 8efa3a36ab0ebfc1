"""A student's linear projection, applied to every token so that mean-pooling runtimes get the right embedding.

A projected student (a small encoder + ``Dense`` 384->768) pools first and projects after. Runtimes that pool
the graph's first output themselves (transformers.js' ``feature-extraction`` pipeline, fastembed) would then
pool the encoder's 384-dim states and never apply the projection. A linear ``Dense`` (identity activation)
commutes with any linear pooling (mean, CLS, weighted mean, last token: ``mean(W x + b) = W mean(x) + b`` since
the weights sum to one), so the exported graph applies it per token for ``token_embeddings`` (the projected
states) and once per text for ``sentence_embedding`` (the pooled states, projected): both agree with the student,
and a runtime that fetches only ``sentence_embedding`` (onnxruntime runs only the nodes an output needs) skips
the per-token projection, a 384 x 768 MatMul on every token (4% of the default student's multiply-adds, and its
int8 activation scaling). The artifact's ``modules.json``
then lists no Dense (``export.artifact.layout.fold_modules``), so sentence-transformers' ONNX backend does not
project a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from export.onnx_export import add_hidden_state_alias, trace_export

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

LINEAR_POOLING = frozenset({"mean", "cls", "weightedmean", "lasttoken"})


@dataclass(frozen=True)
class Fold:
    """Which modules were applied per token (their indices in the student), and the token output's width."""

    indices: tuple[int, ...]
    dim: int

    @property
    def applied(self) -> bool:
        return bool(self.indices)


def _linear_dense(module: Any) -> bool:
    import torch

    return type(module).__name__ == "Dense" and isinstance(getattr(module, "activation_function", None),
                                                          torch.nn.Identity)


def _linear_pooling(module: Any) -> bool:
    if type(module).__name__ != "Pooling":
        return False
    mode = getattr(module, "pooling_mode", None)
    if isinstance(mode, str):
        return mode in LINEAR_POOLING
    flags = ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    return not any(getattr(module, flag, False) for flag in flags)


def foldable(model: SentenceTransformer, first_tail: int) -> Fold:
    """The linear Dense modules right after the pooling step (module ``first_tail`` on) that can move before it."""
    modules: list[Any] = list(model)
    indices = []
    for index in range(first_tail, len(modules)):
        if not _linear_dense(modules[index]):
            break
        indices.append(index)
    dim = int(modules[indices[-1]].linear.out_features) if indices else 0
    return Fold(tuple(indices), dim)


def transformer_fold(model: SentenceTransformer) -> Fold:
    """For a transformer student: [Transformer, Pooling (linear), Dense..., rest]."""
    modules = list(model)
    if len(modules) < 3 or not _linear_pooling(modules[1]):
        return Fold((), 0)
    return foldable(model, 2)


def export_projected(model: SentenceTransformer, fold: Fold, onnx_path: Path, opset: int) -> str:
    """``torch.onnx.export`` of encoder -> per-token projection -> the student's pooling -> the rest."""
    import torch

    modules: list[Any] = list(model)
    encoder, pooling = modules[0], modules[1]
    dense = [modules[i] for i in fold.indices]
    rest = [m for i, m in enumerate(modules[2:], start=2) if i not in fold.indices]

    class TokenProjected(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.pooling = encoder, pooling
            self.dense, self.rest = torch.nn.ModuleList(dense), torch.nn.ModuleList(rest)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.encoder({"input_ids": input_ids, "attention_mask": attention_mask})
            tokens = features["token_embeddings"]
            features = self.pooling(features)
            pooled = features["sentence_embedding"]
            for module in self.dense:
                tokens = module.linear(tokens)  # type: ignore[operator]
                pooled = module.linear(pooled)  # type: ignore[operator]
            features = {**features, "sentence_embedding": pooled}
            for module in self.rest:
                features = module(features)
            return tokens, features["sentence_embedding"]

    sample = model.preprocess(["an example sentence for tracing", "two"])
    trace_export(TokenProjected(), sample["input_ids"], sample["attention_mask"], onnx_path, opset)
    add_hidden_state_alias(onnx_path)
    return "torch.onnx.export (projection per token)"
