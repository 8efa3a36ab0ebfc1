"""Row-wise int8: each MatMul with a constant weight runs int8 x int8 with its input quantized per row (per token)
at run time, in standard ONNX and onnxruntime ops, so that a text's vector does not depend on its batch.

onnxruntime's dynamic int8 (``DynamicQuantizeMatMul``, ``QAttention``) scales each activation tensor by the range
of the whole batch, pads included: a text's vector changes with its neighbours (min cosine 0.993 batch 1 vs 32 on
the default student). Static int8 fixes one scale per tensor from calibration: invariant, but outliers (the FFN
output projections' GELU inputs) force the gate to leave those MatMuls in float, and ``QuantizeLinear`` /
``DequantizeLinear`` pairs keep the attention unfused: slower than dynamic int8 and less accurate.

Here every quantized input ``x`` gets its own range per row, ``r = max|x|`` over the last axis, computed in
the graph (``Abs``, ``ReduceMax``, ``Max``) and shared by every MatMul that reads ``x`` (query, key and value);
``x / r`` is rounded by ``QuantizeLinear`` at the constant scale 1/127 (uint8 with zero point 128: symmetric values
in onnxruntime's fastest u8 x s8 kernels); ``MatMulIntegerToFloat`` (com.microsoft) multiplies by int8 weights
with a scale per output column and ``Mul`` applies the row's range. Five nodes per quantized input and two per
MatMul: at batch 1 their count, not their arithmetic, is what they cost. No row's numbers depend on another row,
so batch 1 and batch 32 give the same vector up to float summation order. The graph it rewrites is fused with
``MultiHeadAttention`` (``export.optimize`` with ``separate_projections``): the attention runs fused in float, its
projections in int8.

Weights follow the target's row-wise preset (``export.presets.rowwise_preset_for``): int8 per output column, 7-bit
(``reduce_range``) on AVX2, whose u8 x s8 instruction would saturate with full-range uint8 activations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from export.presets import QuantPreset

PREFIX = "rowwise"
ZERO_POINT = 128  # activations: symmetric int8 values stored as uint8
EPSILON = 1e-12  # a row of zeros gets this range instead of a division by zero


@dataclass
class _Rewrite:
    """The nodes and initializers a rewrite adds, and the quantized form of each input already made."""

    weights: dict[str, Any]
    preset: QuantPreset
    initializers: list[Any] = field(default_factory=list)
    quantized: dict[str, tuple[str, str]] = field(default_factory=dict)  # input -> (uint8 tensor, row range)

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def shared_constants(self) -> None:
        self.constant(f"{PREFIX}/step", np.array(1 / 127, np.float32))  # x / r in [-1, 1] -> [-127, 127]
        self.constant(f"{PREFIX}/zero_point", np.array(ZERO_POINT, np.uint8))
        self.constant(f"{PREFIX}/epsilon", np.array(EPSILON, np.float32))


def quantizable(node: Any, weights: dict[str, Any], excluded: tuple[str, ...]) -> bool:
    """A MatMul whose second input is a constant 2-D weight, not excluded by name."""
    return (node.op_type == "MatMul" and node.input[1] in weights and len(weights[node.input[1]].dims) == 2
            and node.name not in excluded)


def _quantize_input(state: _Rewrite, x: str) -> list[Any]:
    """The nodes that quantize ``x`` per row (none when it already is); records (uint8 tensor, row range)."""
    from onnx import helper

    if x in state.quantized:
        return []
    p = f"{PREFIX}/{len(state.quantized)}"
    state.quantized[x] = (f"{p}/x_u8", f"{p}/range")
    return [helper.make_node("Abs", [x], [f"{p}/abs"], name=f"{p}/Abs"),
            helper.make_node("ReduceMax", [f"{p}/abs"], [f"{p}/max"], axes=[-1], keepdims=1, name=f"{p}/ReduceMax"),
            helper.make_node("Max", [f"{p}/max", f"{PREFIX}/epsilon"], [f"{p}/range"], name=f"{p}/Max"),
            helper.make_node("Div", [x, f"{p}/range"], [f"{p}/x_unit"], name=f"{p}/Div"),
            helper.make_node("QuantizeLinear", [f"{p}/x_unit", f"{PREFIX}/step", f"{PREFIX}/zero_point"],
                             [f"{p}/x_u8"], name=f"{p}/QuantizeLinear")]


def quantize_weight(weight: np.ndarray, preset: QuantPreset) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(quantized weight, scale per output column, zero point or None): symmetric, per column (free here: the
    column scale is applied to the float output); 7-bit with ``reduce_range``; uint8 around 128 for ``QUInt8``."""
    levels = 63 if preset.reduce_range else 127
    scale = (np.maximum(np.abs(weight).max(axis=0), EPSILON) / levels).astype(np.float32)
    values = np.clip(np.rint(weight / scale), -levels, levels)
    if preset.weight_type == "QUInt8":
        return (values + ZERO_POINT).astype(np.uint8), scale, np.array(ZERO_POINT, np.uint8)
    return values.astype(np.int8), scale, None


def _quantize_matmul(state: _Rewrite, node: Any) -> list[Any]:
    from onnx import helper, numpy_helper

    nodes = _quantize_input(state, node.input[0])
    x_u8, row_range = state.quantized[node.input[0]]
    weight, column_scale, zero_point = quantize_weight(numpy_helper.to_array(state.weights[node.input[1]]),
                                                       state.preset)
    name = node.name or node.output[0]
    inputs = [x_u8, state.constant(f"{name}/{PREFIX}/weight", weight), f"{PREFIX}/step",
              state.constant(f"{name}/{PREFIX}/weight_scale", column_scale), f"{PREFIX}/zero_point"]
    if zero_point is not None:
        inputs.append(state.constant(f"{name}/{PREFIX}/weight_zero_point", zero_point))
    product = f"{name}/{PREFIX}/product"
    return [*nodes, helper.make_node("MatMulIntegerToFloat", inputs, [product], domain="com.microsoft",
                                     name=f"{name}/{PREFIX}/MatMulIntegerToFloat"),
            helper.make_node("Mul", [product, row_range], [node.output[0]], name=f"{name}/{PREFIX}/RowRange")]


def rewrite_rowwise(model: Any, preset: QuantPreset) -> int:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place; return how many MatMuls became int8."""
    graph = model.graph
    state = _Rewrite({t.name: t for t in graph.initializer}, preset)
    state.shared_constants()
    nodes, count = [], 0
    for node in graph.node:
        if quantizable(node, state.weights, preset.nodes_to_exclude):
            nodes.extend(_quantize_matmul(state, node))
            count += 1
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [t for t in [*graph.initializer, *state.initializers] if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        from onnx import helper

        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return count


def quantize_rowwise(src: Path, dst: Path, preset: QuantPreset) -> None:
    """``src`` (a graph fused with MultiHeadAttention) -> ``dst`` with row-wise int8 MatMuls; with
    ``EmbedLayerNormalization`` among the preset's op types, its tables int8 too (weights only: invariant)."""
    import onnx

    model = onnx.load(str(src))
    rewrite_rowwise(model, preset)
    onnx.save(model, str(dst))
    if "EmbedLayerNormalization" in preset.op_types and any(
            n.op_type == "EmbedLayerNormalization" for n in model.graph.node):
        from export.quantize import quantize_dynamic

        quantize_dynamic(dst, dst, _tables_only(preset))


def _tables_only(preset: QuantPreset) -> QuantPreset:
    import dataclasses

    return dataclasses.replace(preset, op_types=("EmbedLayerNormalization",))
