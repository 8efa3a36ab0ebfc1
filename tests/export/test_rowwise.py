"""Row-wise int8: each row quantized on its own, every weight MatMul in int8, the file the artifact runs first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from export.artifact import layout
from export.pipeline import ExportResult
from export.presets import preset_for, rowwise_preset_for
from export.rowwise import quantize_rowwise, quantize_weight, rewrite_rowwise

ROWWISE = ["onnx/model_qrow_avx512_vnni.onnx", "onnx/model_qrow_avx2.onnx"]


def _two_matmuls(path: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x [batch, 8] -> MatMul(w1) -> y1; y1 -> MatMul(w2) -> y; both weights returned."""
    w1, w2 = rng.normal(size=(8, 6)).astype(np.float32), rng.normal(size=(6, 4)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["y1"], name="first"),
             helper.make_node("MatMul", ["y1", "w2"], ["y"], name="second")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
                              [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return w1, w2


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


@pytest.mark.parametrize("target", ["avx512_vnni", "avx2", "arm64"])
def test_each_row_is_quantized_on_its_own(tmp_path: Path, target: str) -> None:
    rng = np.random.default_rng(3)
    w1, w2 = _two_matmuls(tmp_path / "fp32.onnx", rng)
    quantize_rowwise(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", rowwise_preset_for(target))
    ops = [n.op_type for n in onnx.load(str(tmp_path / "int8.onnx")).graph.node]
    assert ops.count("MatMulIntegerToFloat") == 2 and "MatMul" not in ops
    row = rng.normal(size=(1, 8)).astype(np.float32)
    others = np.concatenate([rng.normal(size=(5, 8)) * 100, np.zeros((1, 8))]).astype(np.float32)
    alone, together = _run(tmp_path / "int8.onnx", row), _run(tmp_path / "int8.onnx", np.vstack([row, others]))
    np.testing.assert_allclose(together[:1], alone, rtol=1e-5, atol=1e-6)  # its neighbours' range does not leak
    assert np.isfinite(together).all()  # a row of zeros: epsilon, not a division by zero
    expected = row @ w1 @ w2
    assert float(np.abs(alone - expected).max()) < 0.05 * float(np.abs(expected).max())


def test_excluded_matmuls_stay_float(tmp_path: Path) -> None:
    _two_matmuls(tmp_path / "fp32.onnx", np.random.default_rng(4))
    model = onnx.load(str(tmp_path / "fp32.onnx"))
    assert rewrite_rowwise(model, rowwise_preset_for("avx512_vnni").excluding(["second"])) == 1
    assert [n.name for n in model.graph.node if n.op_type == "MatMul"] == ["second"]


def test_weights_per_column_seven_bit_on_avx2() -> None:
    weight = np.random.default_rng(5).normal(size=(16, 3)).astype(np.float32) * np.array([1.0, 10.0, 0.01])
    for target, levels in (("avx512_vnni", 127), ("arm64", 127), ("avx2", 63)):
        preset = rowwise_preset_for(target)
        assert preset.per_channel and preset.weight_type == "QInt8"
        values, scale, zero_point = quantize_weight(weight, preset)
        assert values.dtype == np.int8 and zero_point is None
        assert (np.abs(values).max(axis=0) == levels).all()  # each column uses its full range
        np.testing.assert_allclose(values * scale, weight, atol=float(scale.max()) / 2 + 1e-7)
    assert preset_for("avx2").weight_type == "QUInt8"  # the dynamic file's cure for AVX2, not the row-wise one's


@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise_files_are_int8_invariant_and_gated(exported: ExportResult, name: str) -> None:
    path = exported.out_dir / name
    graph = onnx.load(str(path)).graph
    weights = {t.name for t in graph.initializer if len(t.dims) == 2}
    assert not [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]  # every one in int8
    fp32 = onnx.load(str(exported.out_dir / layout.FP32)).graph
    fp32_weights = {t.name for t in fp32.initializer if len(t.dims) == 2}
    matmuls = sum(1 for n in fp32.node if n.op_type == "MatMul" and n.input[1] in fp32_weights)
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulIntegerToFloat") == matmuls and "MultiHeadAttention" in ops  # attention fused
    entry = exported.report["quantized"][name]
    assert entry["kind"] == "rowwise" and entry["passed"]
    assert entry["batch_invariance"]["invariant"] and entry["batch_invariance"]["min_cosine"] >= 0.9999
    assert json.loads(path.with_suffix(".json").read_text()) == entry
    assert exported.report["batch_invariance"][name] == entry["batch_invariance"]
