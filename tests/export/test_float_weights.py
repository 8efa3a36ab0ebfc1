"""The float weights of int8 files in fp16: smaller files, the Cast folded by onnxruntime at load, the same vectors
within fp16 rounding, the gate scoring the stored file, and the setting checked."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from compress.config import ExportConfig, Target
from compress.data import load_sts
from compress.enums import FloatWeights
from compress.metrics import cosines
from export.artifact import layout
from export.artifact.encoder import OnnxEncoder
from export.float_weights import FP16_PLAN, float_weight_summary, store_float_weights_fp16
from export.gate import Attempt, GateResult, Score, refine
from export.pipeline import ExportResult, export_artifact
from export.presets import preset_for
from tests.conftest import make_sentences


def _optimized_ops(path: Path, folder: Path) -> list[str]:
    """The node names of the graph onnxruntime runs (default session options, basic level written out)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folder / "seen.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return [n.name for n in onnx.load(str(folder / "seen.onnx")).graph.node]


def test_fp32_file_with_fp16_weights_is_smaller_same_vectors_and_cast_folded(exported: ExportResult,
                                                                             tmp_path: Path) -> None:
    src = exported.out_dir / "onnx/model_optimized.onnx"
    dst = tmp_path / "model_fp16w.onnx"
    done = store_float_weights_fp16(src, dst)
    assert done["tensors"] > 0 and not done["kept_fp32"]
    assert src.stat().st_size - dst.stat().st_size >= 0.9 * done["bytes_saved"] > 0
    assert float_weight_summary(dst) == {"dtype": "fp16", "fp16_tensors": done["tensors"], "fp32_tensors": 0}
    assert float_weight_summary(src) == {"dtype": "fp32", "fp16_tensors": 0, "fp32_tensors": done["tensors"]}
    assert not [name for name in _optimized_ops(dst, tmp_path) if name.endswith("_fp16_cast")]
    sentences = make_sentences(24, seed=5)
    before = OnnxEncoder(src, exported.out_dir, 64).encode(sentences)
    after = OnnxEncoder(dst, exported.out_dir, 64).encode(sentences)
    assert cosines(after, before).min() > 0.99999


def test_weight_beyond_fp16_range_stays_fp32(tmp_path: Path) -> None:
    weights = np.full((64, 64), 0.5, dtype=np.float32)
    big = weights.copy()
    big[3, 7] = 1e6
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "big"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(big, "big")])
    src = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    done = store_float_weights_fp16(src, tmp_path / "out.onnx")
    assert done["tensors"] == 1 and done["kept_fp32"] == ["big"]
    x = np.ones((1, 64), dtype=np.float32)
    run = {p: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
           for p in (src, tmp_path / "out.onnx")}
    np.testing.assert_allclose(run[tmp_path / "out.onnx"], run[src], rtol=1e-6)


def test_gate_keeps_fp16_weights_when_they_pass(tiny_student_dir: Path, sts_file: Path, tmp_path: Path) -> None:
    """A gate that must exclude nodes leaves them in float; the stored file holds them in fp16 after one more
    scored attempt, and the report says so. With ``fp32`` they stay as they were."""
    sizes = {}
    for dtype in FloatWeights:
        config = ExportConfig(targets=[Target("avx2")], static=False, min_retention=50.0, min_cosine=0.999999,
                              gate_sentences=32, ort_format=dtype == FloatWeights.FP16, float_weights=dtype)
        result = export_artifact(tiny_student_dir, tmp_path / dtype.value, config, make_sentences(60, seed=12),
                                 load_sts(sts_file))
        entry = result.report["quantized"]["onnx/model_qint8_avx2.onnx"]
        assert entry["passed"] and entry["settings"]["nodes_to_exclude"], "this gate was meant to exclude nodes"
        summary = entry["float_weights"]
        assert summary == json.loads((result.out_dir / "onnx/model_qint8_avx2.json").read_text())["float_weights"]
        assert summary["setting"] == dtype.value and summary["dtype"] == dtype.value
        plans = [a["plan"] for a in entry["attempts"]]
        if dtype == FloatWeights.FP16:
            assert summary["fp16_tensors"] > 0 and summary["fp32_tensors"] == 0
            assert plans[-1] == FP16_PLAN and entry["attempts"][-1]["passed"]
            assert entry["score"] == entry["attempts"][-1]["score"]  # the score is the stored file's
        else:
            assert summary["fp16_tensors"] == 0 and summary["fp32_tensors"] > 0 and FP16_PLAN not in plans
        sizes[dtype] = entry["size_bytes"]
    assert sizes[FloatWeights.FP16] < sizes[FloatWeights.FP32]
    assert not list((tmp_path / "fp16" / "onnx").glob(".refine-*"))
    _edge_runtimes_load(tmp_path / "fp16", "onnx/model_qint8_avx2.onnx", tmp_path / "node")


def _edge_runtimes_load(art: Path, int8: str, work: Path) -> None:
    """The ORT-format copy (mobile builds) and onnxruntime-node (transformers.js) compute what Python does."""
    from compress.bench.edge import js
    from compress.bench.edge.measure import python_run
    from compress.bench.harness import ModelSpec

    copy = json.loads((art / "manifest.json").read_text())["ort_format"]["files"][layout.ort_file(int8)]
    assert copy["parity"]["min_cosine"] > 0.9999
    work.mkdir()
    sentences = make_sentences(8, seed=23)
    reference = python_run(ModelSpec("m", "onnx", str(art), int8), int8, sentences, work)
    run = js.run_node(js.js_spec(art, int8, sentences, None, None), work, 600)
    assert all(cosines(v, reference).min() >= 0.9999 for v in run.embeddings.values())


class _Scores:
    """A scorer that fails every file but the one it was made for (the refine step's decision, isolated)."""

    def __init__(self, passing: Path) -> None:
        self.passing = passing

    def score(self, path: Path) -> Score:
        good = path == self.passing
        return Score(1.0 if good else 0.5, 1.0 if good else 0.5, None, None)


def test_refine_keeps_the_file_before_it_when_the_new_one_fails(exported: ExportResult, tmp_path: Path) -> None:
    dst = tmp_path / "model.onnx"
    shutil.copyfile(exported.out_dir / "onnx/model_optimized.onnx", dst)
    before = dst.read_bytes()
    first = Attempt("as preset", [], False, Score(1.0, 1.0, None, None), True)
    gated = GateResult(preset_for("avx2"), first, [first])
    kept = refine(gated, dst, _Scores(dst), store_float_weights_fp16, FP16_PLAN, 99.0, 0.9)  # type: ignore[arg-type]
    assert kept.chosen == first and [a.plan for a in kept.attempts] == ["as preset", FP16_PLAN]
    assert not kept.attempts[-1].passed and dst.read_bytes() == before
    assert list(tmp_path.iterdir()) == [dst]
    failed = GateResult(preset_for("avx2"), dataclasses.replace(first, passed=False), [first])
    assert refine(failed, dst, _Scores(dst), store_float_weights_fp16, FP16_PLAN, 99.0, 0.9) is failed  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["bf16", "int8"])
def test_float_weights_setting_is_checked(value: str, tmp_path: Path) -> None:
    from compress.config import load_config
    from compress.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text(f'[export]\nfloat_weights = "{value}"\n')
    with pytest.raises(ConfigError, match=r"export\.float_weights") as raised:
        load_config(path)
    assert "fp16" in f"{raised.value.message} {raised.value.hint}"
