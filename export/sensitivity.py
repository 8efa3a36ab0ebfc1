"""Which nodes quantization hurts most: embedding lookups, the first and last layers, and measured error."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _load(path: Path) -> Any:
    import onnx

    return onnx.load(str(path))


def embedding_lookups(path: Path) -> list[str]:
    """Gathers from a 2-D initializer (embedding tables), and fused EmbedLayerNormalization nodes."""
    model = _load(path)
    tables = {t.name for t in model.graph.initializer if len(t.dims) == 2}
    return [n.name for n in model.graph.node
            if (n.op_type == "Gather" and n.input[0] in tables) or n.op_type == "EmbedLayerNormalization"]


def attention_with_bias(path: Path) -> list[str]:
    """Fused Attention nodes that take an attention bias (MPNet's relative position bias, input 5).

    onnxruntime's QAttention has no such input: quantizing these nodes would silently drop the bias.
    """
    return [n.name for n in _load(path).graph.node
            if n.op_type == "Attention" and len(n.input) > 5 and n.input[5]]


ACTIVATIONS = {"Erf", "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "Tanh"}
ELEMENTWISE = {"Mul", "Add", "Div", "Sub", "Pow", "Sqrt", "Cast", "Identity"}  # a GELU spelled out in ONNX ops


def after_activation_matmuls(path: Path, hops: int = 5) -> list[str]:
    """MatMuls fed by a GELU (through at most ``hops`` elementwise ops): a transformer's FFN output projections.
    Their input, the activation's output, has the widest range of the layer (a few large outliers), so one fixed
    int8 scale for it (static quantization) costs the most accuracy; dynamic int8 rescales it per batch."""
    model = _load(path)
    producer = {o: n for n in model.graph.node for o in n.output}

    def fed_by_activation(tensor: str, depth: int) -> bool:
        node = producer.get(tensor)
        if node is None or depth == 0:
            return False
        if node.op_type in ACTIVATIONS:
            return True
        return node.op_type in ELEMENTWISE and any(fed_by_activation(t, depth - 1) for t in node.input)

    return [n.name for n in model.graph.node if n.op_type == "MatMul" and fed_by_activation(n.input[0], hops)]


def _layer_of(name: str) -> int | None:
    match = re.search(r"layer[._/](\d+)[._/]", name)
    return int(match.group(1)) if match else None


def edge_layer_matmuls(path: Path) -> list[str]:
    """MatMul nodes of the first and the last transformer layer (by the layer number in their names)."""
    nodes = [n.name for n in _load(path).graph.node if n.op_type in ("MatMul", "Attention")]
    layers = sorted({layer for name in nodes if (layer := _layer_of(name)) is not None})
    if not layers:
        return []
    return [name for name in nodes if _layer_of(name) in (layers[0], layers[-1])]


def _with_outputs(path: Path, tensors: list[str], folder: Path) -> Path:
    import onnx

    model = _load(path)
    present = {o.name for o in model.graph.output}
    for name in tensors:
        if name not in present:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    out = folder / path.name
    onnx.save(model, str(out))
    return out


def node_errors(fp32: Path, quantized: Path, feeds: dict[str, np.ndarray], top: int = 4) -> list[str]:
    """The ``top`` quantizable nodes whose outputs differ most (relative L2) between fp32 and int8 graphs."""
    import onnxruntime as ort

    if quantized.suffix != ".onnx":  # OpenVINO IR: no per-node comparison with the ONNX graph
        return []
    model = _load(fp32)
    candidates = {n.output[0]: n.name for n in model.graph.node if n.op_type in ("MatMul", "Gather", "Attention")}
    q_tensors = {o for n in _load(quantized).graph.node for o in n.output}
    shared = [t for t in candidates if t in q_tensors]
    if not shared:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for path in (fp32, quantized):
            sub = Path(tmp) / path.stem
            sub.mkdir()
            session = ort.InferenceSession(str(_with_outputs(path, shared, sub)), providers=["CPUExecutionProvider"])
            names = [o.name for o in session.get_outputs()]
            valid = {k: v for k, v in feeds.items() if k in {i.name for i in session.get_inputs()}}
            runs.append(dict(zip(names, session.run(names, valid), strict=True)))
    errors = {}
    for tensor in shared:
        ref, got = runs[0][tensor].astype(np.float64), runs[1][tensor].astype(np.float64)
        errors[candidates[tensor]] = float(np.linalg.norm(got - ref)) / max(float(np.linalg.norm(ref)), 1e-12)
    return sorted(errors, key=lambda name: -errors[name])[:top]
