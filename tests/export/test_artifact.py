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
from compress.config import ExportConfig, StudentConfig, StudentKind, Target
from compress.data import load_sts
from compress.errors import CompressError
from compress.metrics import cosines
from export.artifact import layout
from export.artifact.manifest import MANIFEST, read_manifest, verify
from export.pipeline import ExportResult, export_artifact
from serve import Embedder
from tests.conftest import make_sentences

runner = CliRunner()


def test_targets_are_the_config_targets() -> None:
    assert set(layout.TARGETS) == {t.value for t in Target}


def test_file_names_and_choice(exported: ExportResult) -> None:
    out = exported.out_dir
    assert layout.quantized_file("avx2") == "onnx/model_qint8_avx2.onnx"
    assert layout.quantized_file("avx2", layout.QuantKind.STATIC) == "onnx/model_qdq_avx2.onnx"
    assert layout.target_of("onnx/model_qdq_avx512_vnni.onnx") == "avx512_vnni"
    assert layout.target_of(layout.OPTIMIZED) == "fp32"
    assert layout.choose_file(out, "avx512_vnni") == "onnx/model_qint8_avx512_vnni.onnx"
    assert layout.choose_file(out, "avx512") == "onnx/model_qint8_avx2.onnx"  # an avx512 host runs the avx2 file
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


def _export(student_dir: Path, out: Path, sts_file: Path) -> ExportResult:
    config = ExportConfig(targets=[Target.AVX2], gate_sentences=32, min_retention=50.0, min_cosine=0.9)
    return export_artifact(student_dir, out, config, make_sentences(60, seed=10), load_sts(sts_file))


def _student(kind: StudentKind, teacher_dir: Path, other_dir: Path, out: Path) -> Path:
    from sentence_transformers import SentenceTransformer

    from compress.students import build_student

    teacher = SentenceTransformer(str(teacher_dir), device="cpu")
    sentences = make_sentences(80, seed=8)
    config = StudentConfig(kind=kind, model=str(other_dir), num_layers=2, static_dims=16)
    built = build_student(config, teacher, sentences, teacher.encode(sentences, convert_to_numpy=True))
    built.model.save(str(out))
    return out


@pytest.mark.parametrize("kind", list(StudentKind))
def test_every_student_kind_loads_in_sentence_transformers(kind: StudentKind, tiny_teacher_dir: Path,
                                                           tiny_other_dir: Path, sts_file: Path,
                                                           tmp_path: Path) -> None:
    """The artifact alone (no student/ beside it) loads in sentence-transformers and gives the student's vectors:
    with its ONNX backend for a transformer student (a pretrained one ends in a Dense projection whose weights
    the artifact must carry), as it is for a static one (its token table is a module's weights)."""
    from sentence_transformers import SentenceTransformer

    student_dir = _student(kind, tiny_teacher_dir, tiny_other_dir, tmp_path / "student")
    art = _export(student_dir, tmp_path / "art", sts_file).out_dir
    assert (art / "model.safetensors").exists() == (kind is StudentKind.STATIC)  # else the ONNX files replace it
    for folder in layout.weighted_module_dirs(art):
        assert any((art / folder).glob("*.safetensors")) or not any((student_dir / folder).glob("*.safetensors"))
    sentences = make_sentences(12, seed=21)
    student = SentenceTransformer(str(student_dir), device="cpu")
    if kind is StudentKind.STATIC:
        loaded = SentenceTransformer(str(art), device="cpu")
    else:
        loaded = SentenceTransformer(str(art), device="cpu", backend="onnx", model_kwargs={"file_name": layout.FP32})
    expected = student.encode(sentences, convert_to_numpy=True)
    assert cosines(loaded.encode(sentences, convert_to_numpy=True), expected).min() > 0.9999
    assert cosines(Embedder(art, target="fp32").encode(sentences), expected).min() > 0.9999
    assert np.isfinite(loaded.encode(["", "a"], convert_to_numpy=True)).all()
