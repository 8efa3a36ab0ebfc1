from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from sentence_transformers import SentenceTransformer

from compress.config import ExportConfig, Target
from compress.data import load_sts
from compress.enums import OpenVinoMode
from compress.errors import CompressError
from export.artifact import layout
from export.artifact.encoder import OnnxEncoder
from export.artifact.manifest import verify
from export.optimize import op_counts
from export.parity import check_parity, cosines, parity_sentences
from export.pipeline import ExportResult, export_artifact
from export.presets import preset_for
from export.quantize import quantized_op_count
from tests.conftest import flip_byte, make_sentences

QUANTIZED = ["onnx/model_qint8_avx512_vnni.onnx", "onnx/model_qint8_avx2.onnx", "onnx/model_qdq_avx2.onnx",
             "onnx/model_qrow_avx2.onnx", "onnx/model_qrow_avx512_vnni.onnx"]


def test_layout_outputs_and_parity(exported: ExportResult) -> None:
    out = exported.out_dir
    assert (out / "modules.json").exists() and (out / "tokenizer.json").exists()
    assert not (out / "model.safetensors").exists()  # the ONNX files replace the PyTorch weights
    graph = onnx.load(str(out / "onnx" / "model.onnx")).graph
    assert [o.name for o in graph.output] == ["token_embeddings", "sentence_embedding", "last_hidden_state"]
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    parity = exported.report["parity"]
    assert parity["min_cosine"] >= 0.99999 and list(parity["batch_sizes"]) == [1, 7, 32]
    assert exported.passed and not [p for p in out.parent.iterdir() if ".tmp-" in p.name]
    assert sorted(p.name for p in (out / "onnx").glob("*.onnx")) == [
        "model.onnx", "model_optimized.onnx", "model_qdq_avx2.onnx", "model_qdq_avx512_vnni.onnx",
        "model_qint8_avx2.onnx", "model_qint8_avx512_vnni.onnx", "model_qrow_avx2.onnx",
        "model_qrow_avx512_vnni.onnx"]  # the row-wise files' base graph is not left behind


def test_optimizer_fuses_the_bert_graph(exported: ExportResult) -> None:
    optimization = exported.report["optimization"]
    assert optimization["applied"] and optimization["fused_ops"].get("Attention", 0) > 0
    assert exported.report["quantized_from"] == "onnx/model_optimized.onnx"


def test_optimize_off_quantizes_the_unfused_graph(tiny_student_dir: Path, sts_file: Path, tmp_path: Path) -> None:
    config = ExportConfig(targets=[Target("avx2")], optimize=False, static=False, openvino=OpenVinoMode.OFF,
                          gate_sentences=32, min_retention=50.0, min_cosine=0.98)
    result = export_artifact(tiny_student_dir, tmp_path / "art", config, make_sentences(40, seed=13),
                             load_sts(sts_file))
    assert result.report["optimization"] == {"applied": False, "fused_ops": {}, "note": "export.optimize = false"}
    assert result.report["quantized_from"] == "onnx/model.onnx"
    assert not (result.out_dir / "onnx/model_optimized.onnx").exists()
    for name in ("onnx/model_qint8_avx2.onnx", "onnx/model_qrow_avx2.onnx"):
        assert not {"Attention", "MultiHeadAttention"} & set(op_counts(result.out_dir / name))


@pytest.mark.parametrize("name", QUANTIZED)
def test_quantized_graphs_are_int8_and_settings_saved_beside(exported: ExportResult, name: str) -> None:
    path = exported.out_dir / name
    counts = quantized_op_count(path)
    assert counts["quantized_ops"] > 0 and counts["int8_initializers"] > 0
    settings = json.loads(path.with_suffix(".json").read_text())
    assert settings == exported.report["quantized"][name]
    assert settings["settings"]["target"] in name and settings["attempts"][0]["plan"] == "as preset"
    if "qdq" in name:
        assert settings["calibration"] == {"sentences": 32, "method": "minmax"}


@pytest.mark.parametrize("name", ["onnx/model.onnx", "onnx/model_optimized.onnx", *QUANTIZED])
def test_loads_through_sentence_transformers_onnx_backend(exported: ExportResult, tiny_student_dir: Path,
                                                           name: str) -> None:
    sentences = make_sentences(6, seed=21)
    reference = SentenceTransformer(str(tiny_student_dir), device="cpu").encode(sentences)
    model = SentenceTransformer(str(exported.out_dir), backend="onnx", model_kwargs={"file_name": name},
                                device="cpu")
    got = model.encode(sentences)
    int8 = layout.target_of(name) != "fp32"
    assert cosines(got, reference).min() > (0.99 if int8 else 0.99999)


def test_dynamic_axes(exported: ExportResult) -> None:
    encoder = OnnxEncoder(exported.out_dir / "onnx" / "model.onnx", exported.out_dir, 32)
    for batch in (["one."], make_sentences(5, seed=2), make_sentences(33, seed=3)):
        assert encoder.encode(batch).shape == (len(batch), 32)


def test_manifest_hashes_every_file(exported: ExportResult) -> None:
    manifest = json.loads((exported.out_dir / "manifest.json").read_text())
    files = {str(p.relative_to(exported.out_dir)) for p in exported.out_dir.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    assert manifest["opset"] == 17 and manifest["versions"]["onnxruntime"] and manifest["versions"]["torch"]
    assert manifest["parity"]["min_cosine"] >= 0.99999
    assert manifest["quantized"]["onnx/model_qint8_avx2.onnx"]["settings"]["weight_type"] == "QUInt8"
    assert verify(exported.out_dir) == []


def test_presets() -> None:
    assert preset_for("avx2").weight_type == "QUInt8" and preset_for("avx512").reduce_range
    assert preset_for("arm64").weight_type == "QInt8"
    with pytest.raises(CompressError, match="unknown target 'sse4'"):
        preset_for("sse4")


def _strict_export(student: Path, sts_file: Path, out: Path, min_cosine: float) -> tuple[ExportResult, dict]:
    strict = ExportConfig(targets=[Target("avx2")], min_retention=100.0, min_cosine=min_cosine, gate_sentences=32)
    result = export_artifact(student, out, strict, make_sentences(60, seed=12), load_sts(sts_file))
    return result, result.report["quantized"]["onnx/model_qint8_avx2.onnx"]


def test_gate_retries_with_sensitive_nodes_excluded_until_it_passes(tiny_student_dir: Path, sts_file: Path,
                                                                    tmp_path: Path) -> None:
    result, entry = _strict_export(tiny_student_dir, sts_file, tmp_path / "strict", 0.9999999)
    attempts = entry["attempts"]
    assert attempts[0]["plan"] == "as preset" and not attempts[0]["passed"] and not attempts[0]["per_channel"]
    assert attempts[1]["plan"] == "per-channel weights" and attempts[1]["per_channel"]
    assert attempts[2]["plan"] == "exclude embedding lookups" and attempts[2]["excluded"]
    assert result.passed and attempts[-1]["passed"] and entry["settings"]["nodes_to_exclude"]
    assert entry["settings"]["nodes_to_exclude"] == attempts[-1]["excluded"]


def test_gate_that_cannot_pass_keeps_the_best_attempt_and_says_so(tiny_student_dir: Path, sts_file: Path,
                                                                  tmp_path: Path) -> None:
    result, entry = _strict_export(tiny_student_dir, sts_file, tmp_path / "impossible", 1.5)
    plans = [a["plan"] for a in entry["attempts"]]
    assert not result.passed and not entry["passed"]
    assert plans[:4] == ["as preset", "per-channel weights", "exclude embedding lookups",
                         "exclude first and last layer"]
    assert "exclude worst nodes by measured error" in plans
    best = max(a["score"]["cosine_mean"] for a in entry["attempts"])
    assert entry["score"]["cosine_mean"] == best
    assert json.loads((tmp_path / "impossible" / "manifest.json").read_text())["passed"] is False
    assert not list((tmp_path / "impossible" / "onnx").glob(".try*"))


def test_torch_fallback_exporter_has_parity(tiny_student_dir: Path, tmp_path: Path) -> None:
    from export.onnx_export import add_hidden_state_alias, torch_export

    path = tmp_path / "model.onnx"
    torch_export(tiny_student_dir, path, 17)
    add_hidden_state_alias(path)
    model = SentenceTransformer(str(tiny_student_dir), device="cpu")
    parity = check_parity(model, OnnxEncoder(path, tiny_student_dir, model.max_seq_length),
                          parity_sentences(make_sentences(10, seed=4), model.max_seq_length))
    assert parity.min_cosine >= 0.99999


def test_not_a_sentence_transformers_folder(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(CompressError, match="not a sentence-transformers folder"):
        export_artifact(tmp_path / "src", tmp_path / "out", ExportConfig(), ["a."], None)
    assert not (tmp_path / "out").exists()


def test_output_folder_with_something_else_is_refused(tiny_student_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(CompressError, match="already holds something else"):
        export_artifact(tiny_student_dir, out, ExportConfig(), make_sentences(50), None)
    assert (out / "keep.txt").read_text() == "mine"


def test_corrupt_onnx_file_is_a_clear_error(tmp_path: Path, exported: ExportResult) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes((exported.out_dir / "onnx" / "model.onnx").read_bytes()[:500])
    with pytest.raises(CompressError, match="is not a loadable ONNX model"):
        OnnxEncoder(broken, exported.out_dir, 32)


def test_flipped_byte_is_caught(exported: ExportResult, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported.out_dir, copy)
    flip_byte(copy / "onnx" / "model_qint8_avx2.onnx")
    assert verify(copy) == ["onnx/model_qint8_avx2.onnx"]
    assert np.isfinite(exported.report["quantized"]["onnx/model_qint8_avx2.onnx"]["score"]["cosine_mean"])
