"""A 4-bit embedding table: the word-embedding ``Gather`` of an int8 file becomes onnxruntime's
``GatherBlockQuantized`` (com.microsoft), 4-bit weights with a scale and zero point per block of the hidden axis.

The int8 file must have been quantized with its embeddings left as a plain ``Gather`` (no fused
``EmbedLayerNormalization``, ``Gather`` not among the int8 op types): see ``export.pipeline``. onnxruntime's
``MatMulNBitsQuantizer`` writes the node and raises the model's default-domain opset to 21 for its 4-bit types
without converting the other nodes (an opset-17 ``ReduceL2`` then fails to load); the 4-bit types live in the
com.microsoft op and the IR version, so the default-domain opset is put back.

Runtimes: onnxruntime's CPU provider has the kernel (checked in Python and onnxruntime-node). The ORT format cannot
hold int4 tensors, so a 4-bit table has no ORT-format copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

BLOCK_SIZE = 32


def word_embedding_gather(model: Any) -> Any | None:
    """The word embeddings' Gather: the one whose table is named so, else the one with the largest table."""
    inits = {i.name: i for i in model.graph.initializer}
    gathers = [n for n in model.graph.node if n.op_type == "Gather" and n.input[0] in inits]
    named = [n for n in gathers if "word_embeddings" in n.input[0]]
    return max(named or gathers, key=lambda n: int(np.prod(inits[n.input[0]].dims)), default=None)


def quantize_table_4bit(path: Path, block_size: int = BLOCK_SIZE) -> dict[str, Any]:
    """Rewrite ``path`` in place; return what was done."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer
    from onnxruntime.quantization.quant_utils import QuantFormat

    model = onnx.load(str(path))
    opsets = {o.domain: o.version for o in model.graph_opset_imports()} if hasattr(model, "graph_opset_imports") \
        else {o.domain: o.version for o in model.opset_import}
    word = word_embedding_gather(model)
    if word is None:
        return {"applied": False, "note": "no constant Gather (the embeddings are fused or already quantized)"}
    others = [n.name for n in model.graph.node if n.op_type == "Gather" and n.name != word.name]
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=False, quant_format=QuantFormat.QOperator,
                                          op_types_to_quantize=("Gather",), quant_axes=(("Gather", 1),))
    quantizer = MatMulNBitsQuantizer(model, nodes_to_exclude=others, algo_config=config)
    quantizer.process()
    quantized = quantizer.model.model
    for opset in quantized.opset_import:
        if opset.domain in ("", "ai.onnx") and "" in opsets:
            opset.version = opsets[""]
    onnx.save(quantized, str(path))
    return {"applied": True, "node": word.name, "bits": 4, "block_size": block_size}
