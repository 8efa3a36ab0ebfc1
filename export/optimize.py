"""onnxruntime's transformer optimizer (attention, LayerNorm, GELU fusions) on the fp32 graph."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FUSED_OPS = ("Attention", "MultiHeadAttention", "SkipLayerNormalization", "EmbedLayerNormalization",
             "LayerNormalization", "FastGelu", "BiasGelu", "Gelu", "SkipSimplifiedLayerNormalization")


@dataclass(frozen=True)
class Optimization:
    applied: bool
    fused_ops: dict[str, int] = field(default_factory=dict)
    note: str = ""


def op_counts(path: Path) -> Counter[str]:
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node)


def optimize(src: Path, dst: Path, model_type: str, num_heads: int, hidden_size: int,
             embed_fusion: bool = True, separate_projections: bool = False) -> Optimization:
    """Fuse ``src`` into ``dst``; ``applied`` is False (and ``dst`` not written) when nothing was fused.
    ``embed_fusion`` False keeps the embeddings a plain Gather (for a 4-bit table, ``export.table``);
    ``separate_projections``: attention as ``MultiHeadAttention`` fed by the query, key and value MatMuls (which
    the row-wise int8 file quantizes) instead of ``Attention``, which holds their weights inside."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions(model_type)
    options.enable_embed_layer_norm = embed_fusion
    options.use_multi_head_attention = separate_projections
    try:
        optimized = optimize_model(str(src), model_type=model_type, num_heads=num_heads, hidden_size=hidden_size,
                                   opt_level=1, optimization_options=options)
    except Exception as exc:  # the optimizer raises assorted errors on graphs it does not understand
        return Optimization(False, note=f"optimizer failed on this graph: {type(exc).__name__}: {exc}")
    before = op_counts(src)
    fused = Counter(node.op_type for node in optimized.model.graph.node)
    gained = {op: n for op in FUSED_OPS if (n := fused[op] - before[op]) > 0}
    if not gained:
        return Optimization(False, note=f"no fusion applies to this graph (model_type={model_type})")
    optimized.save_model_to_file(str(dst))
    return Optimization(True, gained)


def model_type_for(architecture: str) -> str:
    """The optimizer's model family for a Hugging Face architecture name."""
    name = architecture.lower()
    for family in ("mpnet", "roberta", "distilbert", "bert"):
        if family in name:
            return "bert" if family in ("mpnet", "roberta") else family
    return "bert"
