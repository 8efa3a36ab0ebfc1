"""Peers exported the way their own users export them: sentence-transformers' dynamic int8 ONNX
(``export_dynamic_quantized_onnx_model``) and its static int8 OpenVINO IR (``export_static_quantized_openvino_model``),
for the benchmarks that measure the student beside them."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from export.artifact.encoder import OnnxEncoder
from export.artifact.layout import OV_INT8, quantized_file

ST_INT8 = quantized_file("avx512_vnni")  # the file sentence-transformers writes for its avx512_vnni preset


def st_int8_export(model_dir: str, work: Path, preset: str = "avx512_vnni") -> Path:
    """sentence-transformers' own export_dynamic_quantized_onnx_model (``preset``: avx512_vnni, avx2, ...)
    into ``work``."""
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    onnx_model = SentenceTransformer(model_dir, backend="onnx", device="cpu")
    onnx_model.save(str(work))
    export_dynamic_quantized_onnx_model(onnx_model, preset, str(work))
    return st_int8_file(work, preset)


ST_OV_INT8 = OV_INT8  # optimum-intel's name, which the artifact layout uses too


def st_openvino_int8_export(model_dir: str, work: Path, calibration: list[str]) -> Path:
    """sentence-transformers' own export_static_quantized_openvino_model (optimum-intel's OVQuantizer, its
    default OVQuantizationConfig: 300 samples) into ``work``, calibrated on ``calibration`` (corpus sentences, as
    a local dataset folder: its default is GLUE SST-2 from the hub, not reachable offline). Telemetry off."""
    os.environ.setdefault("NNCF_CI", "1")  # nncf's telemetry stub
    os.environ.setdefault("CI", "true")  # openvino's model converter: its telemetry is off in CI
    from sentence_transformers import SentenceTransformer, export_static_quantized_openvino_model

    model = SentenceTransformer(model_dir, backend="openvino", device="cpu")
    model.save(str(work))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "train.jsonl").write_text("".join(json.dumps({"sentence": t}) + "\n" for t in calibration))
        export_static_quantized_openvino_model(model, None, str(work), dataset_name=tmp, dataset_config_name="default",
                                               dataset_split="train", column_name="sentence")
    return work / ST_OV_INT8


def host_preset() -> str:
    """The sentence-transformers quantization preset a user picks for this CPU (avx2 on x86 without VNNI)."""
    from export.artifact.host import host_target

    target = host_target()
    return target if target in ("avx512_vnni", "arm64") else "avx2"


def st_int8_file(work: Path, preset: str) -> Path:
    """The file sentence-transformers wrote for ``preset`` (qint8 for the VNNI/arm64 presets, quint8 for avx2)."""
    found = sorted((work / "onnx").glob(f"model_q*int8_{preset}.onnx"))
    return found[0] if found else work / quantized_file(preset)


class TokenPoolingEncoder(OnnxEncoder):
    """sentence-transformers' ONNX file run the way its ONNX backend runs it, minus torch: the graph's first output
    (token embeddings, all the file holds), mean-pooled over the attention mask and normalized in numpy, after the
    same Rust tokenizer as every other file (for all-MiniLM-L6-v2: Pooling(mean) then Normalize)."""

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        tokens = np.asarray(self.session.run(None, feeds)[0])
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def output_dim(self) -> int | None:
        shape = self.session.get_outputs()[0].shape
        return shape[-1] if isinstance(shape[-1], int) else None


def with_pooling(folder: Path, file: str) -> str:
    """A copy of sentence-transformers' ONNX file (token embeddings only) with the pooling its backend runs in torch
    appended in the graph (mean over the attention mask, then L2 normalization) as ``sentence_embedding``, for
    runtimes that take a file and nothing else (an emulated device's onnxruntime); ``onnx/<name>_pooled.onnx``."""
    import onnx
    from onnx import helper

    out = Path(file).with_name(f"{Path(file).stem}_pooled.onnx").as_posix()
    model = onnx.load(str(folder / file))
    tokens = model.graph.output[0].name
    nodes = [helper.make_node("Cast", ["attention_mask"], ["pool/mask"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["pool/mask", "pool/axis_last"], ["pool/mask3"]),
             helper.make_node("Mul", [tokens, "pool/mask3"], ["pool/masked"]),
             helper.make_node("ReduceSum", ["pool/masked", "pool/axis_tokens"], ["pool/sum"], keepdims=0),
             helper.make_node("ReduceSum", ["pool/mask3", "pool/axis_tokens"], ["pool/count"], keepdims=0),
             helper.make_node("Max", ["pool/count", "pool/epsilon"], ["pool/count_safe"]),
             helper.make_node("Div", ["pool/sum", "pool/count_safe"], ["pool/mean"]),
             helper.make_node("Mul", ["pool/mean", "pool/mean"], ["pool/square"]),  # L2 in ops of opset 13+
             helper.make_node("ReduceSum", ["pool/square", "pool/axis_last"], ["pool/norm_sq"], keepdims=1),
             helper.make_node("Sqrt", ["pool/norm_sq"], ["pool/norm"]),
             helper.make_node("Max", ["pool/norm", "pool/epsilon"], ["pool/norm_safe"]),
             helper.make_node("Div", ["pool/mean", "pool/norm_safe"], ["sentence_embedding"])]
    model.graph.initializer.extend([
        onnx.numpy_helper.from_array(np.array([-1], np.int64), "pool/axis_last"),
        onnx.numpy_helper.from_array(np.array([1], np.int64), "pool/axis_tokens"),
        onnx.numpy_helper.from_array(np.array(1e-9, np.float32), "pool/epsilon")])
    model.graph.node.extend(nodes)
    model.graph.output.append(helper.make_tensor_value_info("sentence_embedding", onnx.TensorProto.FLOAT, None))
    onnx.save(model, str(folder / out))
    return out
