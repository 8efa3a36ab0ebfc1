"""The artifact format's owner: layout, manifest (shape, self-checksum), permissions, and that every student kind's
artifact loads in sentence-transformers as it is."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from compress.cli import app
from compress.config import StudentKind, Target
from compress.errors import CompressError
from compress.metrics import cosines
from export.artifact import layout
from export.artifact.manifest import MANIFEST, read_manifest, verify
from export.pipeline import ExportResult
from serve import Embedder
from tests.conftest import KindArtifacts, make_sentences

runner = CliRunner()


def test_targets_are_the_config_targets() -> None:
    """One table row per target: the config's enum, the presets, the layout's file choice, host detection and
    the model card all read it."""
    from compress.quant_targets import TARGET_TABLE, TARGETS, detect
    from export.card import RUNS_ON
    from export.presets import preset_for

    assert set(TARGETS) == {t.value for t in Target}
    for spec in TARGET_TABLE:
        preset = preset_for(spec.name)
        assert (preset.target, preset.weight_type, preset.reduce_range) == (spec.name, spec.weight_type,
                                                                            spec.reduce_range)
        assert RUNS_ON[spec.name] == spec.runs_on
        assert layout.preference(spec.name)[0] == layout.quantized_file(spec.name, layout.QuantKind.ROWWISE)
    assert detect("x86_64", {"avx2", "avx512f", "avx512_vnni"}) == "avx512_vnni"
    assert detect("x86_64", {"avx2", "avx512f"}) == "avx512"
    assert detect("x86_64", {"avx2"}) == "avx2"
    assert detect("aarch64", {"asimd"}) == "arm64"
    assert detect("x86_64", {"sse4_2"}) is None


def test_file_names_and_choice(exported: ExportResult) -> None:
    out = exported.out_dir
    assert layout.quantized_file("avx2") == "onnx/model_qint8_avx2.onnx"
    assert layout.quantized_file("avx2", layout.QuantKind.STATIC) == "onnx/model_qdq_avx2.onnx"
    assert layout.target_of("onnx/model_qdq_avx512_vnni.onnx") == "avx512_vnni"
    assert layout.target_of(layout.OPTIMIZED) == "fp32"
    assert layout.quantized_file("avx2", layout.QuantKind.ROWWISE) == "onnx/model_qrow_avx2.onnx"
    assert layout.target_of("onnx/model_qrow_arm64.onnx") == "arm64"
    # the batch-invariant files first (row-wise, then static), then the dynamic one
    assert layout.int8_files("avx2") == ["onnx/model_qrow_avx2.onnx", "onnx/model_qdq_avx2.onnx",
                                         "onnx/model_qint8_avx2.onnx"]
    assert layout.choose_file(out, "avx512_vnni") == "onnx/model_qrow_avx512_vnni.onnx"
    assert layout.choose_file(out, "avx512") == "onnx/model_qrow_avx2.onnx"  # an avx512 host runs the avx2 file
    assert layout.choose_file(out, "avx2", runtime="openvino") == layout.OV_INT8
    assert layout.choose_file(out, None, runtime="openvino") == layout.OV_FP32
    assert layout.runtime_of(layout.OV_INT8) == "openvino" and layout.target_of(layout.OV_INT8) == "x86"
    assert layout.choose_file(out, "arm64") == layout.OPTIMIZED  # no arm64 file: the fused fp32 graph
    with pytest.raises(CompressError, match="no file for target 'arm64'"):
        layout.choose_file(out, "arm64", exact=True)


def test_artifact_folders_are_readable_by_others(exported: ExportResult) -> None:
    mode = stat.S_IMODE(exported.out_dir.stat().st_mode)
    assert mode & 0o055 == 0o055  # group and others may read and enter it (not mkdtemp's 0700)


def test_export_manifest_has_a_status(exported: ExportResult) -> None:
    assert read_manifest(exported.out_dir)["status"] == "passed"
    result = runner.invoke(app, ["verify", str(exported.out_dir)])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "passed"


def _copy(exported: ExportResult, tmp_path: Path) -> Path:
    copy = tmp_path / "art"
    shutil.copytree(exported.out_dir, copy)
    return copy


def test_editing_the_manifest_metadata_fails_verify(exported: ExportResult, tmp_path: Path) -> None:
    copy = _copy(exported, tmp_path)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["status"], manifest["passed"] = "passed", True
    manifest["targets"] = ["arm64"]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    assert verify(copy) == [MANIFEST]
    result = runner.invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and "mismatch: manifest.json" in result.stderr


@pytest.mark.parametrize(("content", "needle"), [
    ("{not json", "is not valid JSON"),
    ('{"schema": "st-compress/manifest/1"}', "no 'files' table"),
    ("[1, 2]", "JSON list, not an object"),
    ('{"files": {"a": 3}}', "no 'files' table"),
])
def test_malformed_manifests_are_refused_without_a_traceback(exported: ExportResult, tmp_path: Path, content: str,
                                                            needle: str) -> None:
    copy = _copy(exported, tmp_path)
    (copy / MANIFEST).write_text(content)
    with pytest.raises(CompressError, match=needle):
        Embedder(copy)
    result = runner.invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and needle in result.stderr and "Traceback" not in result.output
    assert json.loads(result.stdout)["ok"] is False
    served = runner.invoke(app, ["serve", str(copy), "--port", "18931"])
    assert served.exit_code == 2 and needle in served.stderr


@pytest.mark.parametrize("kind", list(StudentKind))
def test_every_student_kind_loads_in_sentence_transformers(kind: StudentKind, kind_artifacts: KindArtifacts) -> None:
    """The artifact alone (no student/ beside it) loads in sentence-transformers and gives the student's vectors
    and serve.Embedder's: with its ONNX backend for a transformer student (whose projection the graph applies per
    token, so the folder lists no Dense), as it is for a static one (its token table is a module's weights)."""
    from sentence_transformers import SentenceTransformer

    student_dir, art = kind_artifacts[kind]
    assert (art / "model.safetensors").exists() == (kind is StudentKind.STATIC)  # else the ONNX files replace it
    for folder in layout.weighted_module_dirs(art):
        assert any((art / folder).glob("*.safetensors")) or not any((student_dir / folder).glob("*.safetensors"))
    sentences = make_sentences(12, seed=21)
    student = SentenceTransformer(str(student_dir), device="cpu")
    if kind is StudentKind.STATIC:
        loaded = SentenceTransformer(str(art), device="cpu")
    else:
        loaded = SentenceTransformer(str(art), device="cpu", backend="onnx", model_kwargs={"file_name": layout.FP32})
        assert not any(str(m["type"]).endswith("Dense") for m in layout.modules(art))
    expected = student.encode(sentences, convert_to_numpy=True)
    served = Embedder(art, target="fp32").encode(sentences)
    assert loaded.get_embedding_dimension() == served.shape[1] == expected.shape[1]
    assert cosines(loaded.encode(sentences, convert_to_numpy=True), expected).min() > 0.9999
    assert cosines(loaded.encode(sentences, convert_to_numpy=True), served).min() > 0.9999
    assert cosines(served, expected).min() > 0.9999
    assert np.isfinite(loaded.encode(["", "a"], convert_to_numpy=True)).all()


@pytest.mark.parametrize("kind", list(StudentKind))
def test_the_first_output_mean_pooled_is_the_embedding(kind: StudentKind, kind_artifacts: KindArtifacts) -> None:
    """What transformers.js' and fastembed's mean pooling compute from ``token_embeddings``: the same vector as
    ``sentence_embedding`` (for a projected student too), in fp32 and in every int8 file."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    _, art = kind_artifacts[kind]
    tokenizer = Tokenizer.from_file(str(art / layout.TOKENIZER))
    tokenizer.enable_padding(pad_token=layout.pad_token(art), pad_id=tokenizer.token_to_id(layout.pad_token(art)))
    encoded = tokenizer.encode_batch(make_sentences(16, seed=22))
    feeds = {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
             "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64)}
    for file in sorted(p.relative_to(art) for p in (art / layout.ONNX_DIR).glob("*.onnx")):
        session = ort.InferenceSession(str(art / file), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        first, pooled = session.run(["token_embeddings", layout.OUTPUT], {k: v for k, v in feeds.items() if k in names})
        mask = feeds["attention_mask"][..., None]
        mean = (first * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
        assert cosines(mean, pooled).min() > 0.9999, file


def test_each_int8_file_has_an_ort_format_copy_that_computes_the_same(kind_artifacts: KindArtifacts) -> None:
    """Mobile: onnxruntime loads the ORT-format copy of each int8 file and gives the same embeddings as the .onnx;
    the copies and the operator list for a minimal build are in the manifest."""
    from export.artifact.encoder import OnnxEncoder

    _, art = kind_artifacts[StudentKind.PRETRAINED]
    manifest = read_manifest(art)
    int8 = [f for f in manifest["quantized"] if layout.runtime_of(f) == "onnxruntime"]  # not the OpenVINO file
    assert {"onnx/model_qint8_avx2.onnx", "onnx/model_qrow_avx2.onnx"} <= set(int8)
    assert set(manifest["ort_format"]["files"]) == {layout.ort_file(f) for f in int8}
    sentences = make_sentences(20, seed=24)
    for file in int8:
        ort_copy = layout.ort_file(file)
        assert ort_copy in manifest["files"]
        assert manifest["ort_format"]["files"][ort_copy]["parity"]["min_cosine"] > 0.9999
        got = OnnxEncoder(art / ort_copy, art, layout.max_length_of(art)).encode(sentences)
        want = OnnxEncoder(art / file, art, layout.max_length_of(art)).encode(sentences)
        assert cosines(got, want).min() > 0.9999
    ops = (art / layout.REQUIRED_OPERATORS).read_text().splitlines()
    assert layout.REQUIRED_OPERATORS in manifest["files"]
    assert any(line.startswith("com.microsoft;1;") and "DynamicQuantizeMatMul" in line for line in ops)
    assert not any("/tmp" in line for line in ops)


@pytest.mark.parametrize("kind", list(StudentKind))
def test_the_model_card_says_how_to_load_each_file(kind: StudentKind, kind_artifacts: KindArtifacts) -> None:
    _, art = kind_artifacts[kind]
    card = (art / "README.md").read_text()
    manifest = read_manifest(art)
    assert all(f"`{f}`" in card for f in [*manifest["quantized"], *manifest["ort_format"]["files"], layout.FP32])
    assert "from serve import Embedder" in card and "pipeline('feature-extraction'" in card
    assert "TextEmbedding.add_custom_model" in card and "art" in card.splitlines()[0]
    assert ('backend="onnx"' in card) == (kind is not StudentKind.STATIC)
