"""ONNX export of a static-embedding student: token vectors gathered, masked mean, then the student's own tail.

sentence-transformers' ``StaticEmbedding`` takes flat ids with offsets (an ``EmbeddingBag``); the exported graph
takes the usual padded ``input_ids`` and ``attention_mask`` instead (a linear projection applied per token, as in
``export.projection``), so the runtime, the server and the benchmark
treat it like any other artifact. The tokenizer is written beside it without special tokens, as
``StaticEmbedding`` tokenizes, and truncating at ``STATIC_MAX_LENGTH`` tokens (for the student as well).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from export.onnx_export import add_hidden_state_alias, trace_export
from export.projection import foldable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

STATIC_MAX_LENGTH = 256
PAD = "[PAD]"
STATIC_MODEL_TYPE = "static-embedding"


def limit_length(model: SentenceTransformer, max_length: int = STATIC_MAX_LENGTH) -> int:
    """Make the student truncate like the exported tokenizer will; return that length."""
    static: Any = model[0]
    static.tokenizer.enable_truncation(max_length)
    return max_length


def write_tokenizer(model: SentenceTransformer, folder: Path, max_length: int) -> None:
    static: Any = model[0]
    spec = json.loads(static.tokenizer.to_str())
    spec["post_processor"] = None  # StaticEmbedding encodes with add_special_tokens=False
    spec["truncation"] = {"direction": "Right", "max_length": max_length, "strategy": "LongestFirst", "stride": 0}
    spec["padding"] = None
    (folder / "tokenizer.json").write_text(json.dumps(spec))
    (folder / "special_tokens_map.json").write_text(json.dumps({"pad_token": PAD}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_length}))
    # transformers.js needs a config.json: a model type no library claims, so that it runs the graph as a plain
    # encoder (it says so once: "Unknown model class").
    (folder / "config.json").write_text(json.dumps({"model_type": STATIC_MODEL_TYPE,
                                                    "architectures": ["StaticEmbedding"]}))


def export_static(model: SentenceTransformer, folder: Path, onnx_path: Path, opset: int) -> tuple[str, int]:
    """Write the graph to ``onnx_path`` and its tokenizer into ``folder``; return (exporter, max length)."""
    import torch

    max_length = limit_length(model)
    write_tokenizer(model, folder, max_length)
    static: Any = model[0]
    weight = static.embedding.weight.detach()
    fold = foldable(model, 1)  # a linear projection is applied per token, so token_embeddings are final too
    dense = [model[i] for i in fold.indices]
    tail = [model[i] for i in range(1, len(model))]  # pooled as before: an empty text still gets the bias

    class Padded(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(weight, requires_grad=False)
            self.dense, self.tail = torch.nn.ModuleList(dense), torch.nn.ModuleList(tail)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            tokens = torch.nn.functional.embedding(input_ids, self.weight)
            projected = tokens
            for module in self.dense:  # the first output only: onnxruntime skips it when it is not asked for
                projected = module.linear(projected)  # type: ignore[operator]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            features = {"sentence_embedding": pooled}
            for module in self.tail:
                features = module(features)
            return projected, features["sentence_embedding"]

    ids = torch.tensor([[5, 6, 7, 0], [5, 6, 0, 0]], dtype=torch.long)
    trace_export(Padded(), ids, (ids > 0).long(), onnx_path, opset)
    add_hidden_state_alias(onnx_path)
    return "static (torch.onnx.export, padded mean)", max_length
