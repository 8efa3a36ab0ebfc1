"""The teacher's pass through onnxruntime: same targets as PyTorch, its own cache key, PyTorch when it cannot."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from compress.config import Precision, TeacherRuntime, load_config
from compress.distill import teacher_runtime as teacher_onnx
from compress.distill.teacher_cache import teacher_embeddings, teacher_key
from compress.distill.teacher_runtime import GRAPH, resolve_runtime
from compress.errors import ConfigError
from compress.precision import bf16_native
from compress.run.keys import stage_keys
from tests.conftest import make_sentences

ORT, TORCH, AUTO = TeacherRuntime.ONNXRUNTIME, TeacherRuntime.TORCH, TeacherRuntime.AUTO


def test_auto_is_onnxruntime_only_where_the_teacher_would_run_fp32_on_a_cpu() -> None:
    assert resolve_runtime(AUTO, Precision.FP32, "cpu") is ORT
    assert resolve_runtime(AUTO, Precision.BF16, "cpu") is TORCH
    assert resolve_runtime(AUTO, Precision.AUTO, "cpu") is (TORCH if bf16_native("cpu") else ORT)
    assert resolve_runtime(AUTO, Precision.FP32, "cuda") is TORCH
    assert resolve_runtime(TORCH, Precision.FP32, "cpu") is TORCH
    assert resolve_runtime(ORT, Precision.FP32, "cuda") is ORT


def test_onnxruntime_embeds_as_pytorch_does_into_a_cache_of_its_own(tiny_teacher, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sentences = make_sentences(60)
    torch_vectors = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32)
    ort_vectors = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32,
                                     runtime=ORT)
    assert len(list((tmp_path / "teacher").iterdir())) == 2  # never mixed in one cache
    cosine = (torch_vectors * ort_vectors).sum(1) / np.linalg.norm(torch_vectors, axis=1) \
        / np.linalg.norm(ort_vectors, axis=1)
    assert cosine.min() > 0.99999
    np.testing.assert_allclose(ort_vectors, torch_vectors, atol=1e-5)
    graphs = list((tmp_path / "teacher-onnx").glob(f"*/{GRAPH}"))
    assert len(graphs) == 1 and not list(graphs[0].parent.parent.glob("*.safetensors"))
    keys = {teacher_key(tiny_teacher, "corpus", Precision.FP32, runtime=r).digest() for r in (TORCH, ORT)}
    assert keys == {p.name for p in (tmp_path / "teacher").iterdir()}

    def no_export(*_: object) -> None:
        raise AssertionError("a finished cache needs no graph")

    monkeypatch.setattr(teacher_onnx, "_graph_folder", no_export)
    again = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32, runtime=ORT)
    np.testing.assert_array_equal(again, ort_vectors)


@pytest.mark.parametrize("failure", ["export", "parity"])
def test_pytorch_takes_over_when_onnxruntime_cannot(failure: str, tiny_teacher, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    if failure == "export":
        def broken(*_: object) -> None:
            raise RuntimeError("unsupported operator")

        monkeypatch.setattr(teacher_onnx, "_graph_folder", broken)
    else:
        monkeypatch.setattr(teacher_onnx, "PARITY", 1.5)  # no cosine reaches it
    sentences = make_sentences(30)
    with caplog.at_level(logging.WARNING, logger="compress.distill.teacher_runtime"):
        vectors = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32,
                                     runtime=ORT)
    assert "using PyTorch" in caplog.text
    (folder,) = (tmp_path / "teacher").iterdir()
    assert folder.name == teacher_key(tiny_teacher, "corpus", Precision.FP32).digest()  # filed as PyTorch's
    np.testing.assert_array_equal(vectors, teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path / "t", 8,
                                                              16, False, Precision.FP32))


def test_onnxruntime_with_bf16_is_refused(tiny_config_toml: Path) -> None:
    with pytest.raises(ConfigError, match="fp32"):
        load_config(tiny_config_toml, ["teacher.runtime='onnxruntime'", "teacher.precision='bf16'"])


def test_stage_keys_follow_the_resolved_runtime(tiny_config_toml: Path) -> None:
    def distill_key(runtime: str) -> str:
        return stage_keys(load_config(tiny_config_toml, [f"teacher.runtime='{runtime}'",
                                                         "teacher.precision='fp32'"])).distill

    assert distill_key("torch") != distill_key("onnxruntime")
    assert distill_key("auto") == distill_key("onnxruntime")  # fp32 on a CPU
    assert "runtime" not in load_config(tiny_config_toml).key_dict()["teacher"]


def test_the_teachers_sts_score_is_embedded_on_the_caches_runtime(tiny_teacher, sts_file: Path,
                                                                  tmp_path: Path) -> None:
    from compress.data import load_sts
    from compress.distill.distill_report import _teacher_sts, teacher_sts_path
    from compress.metrics import sts_spearman

    pairs = load_sts(sts_file)
    score = _teacher_sts(tiny_teacher, "sts_dev", pairs, ORT, tmp_path)
    assert teacher_sts_path(tiny_teacher, "sts_dev", pairs, tmp_path, ORT).is_file()  # filed under its runtime
    assert not teacher_sts_path(tiny_teacher, "sts_dev", pairs, tmp_path, TORCH).exists()
    assert score == pytest.approx(sts_spearman(tiny_teacher, pairs), abs=0.05)  # PyTorch fp32's, x100
    assert list((tmp_path / "teacher-onnx").glob(f"*/{GRAPH}"))  # the graph the cache's pass uses


def test_the_int8_graph_gives_close_targets_into_a_cache_of_its_own(tiny_teacher, tmp_path: Path,
                                                                    tiny_config_toml: Path) -> None:
    from export.artifact.host import host_target
    from export.artifact.layout import QuantKind, quantized_file

    int8 = TeacherRuntime.ONNXRUNTIME_INT8
    sentences = make_sentences(40)
    exact = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32, runtime=ORT)
    approx = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32,
                                runtime=int8)
    keys = {teacher_key(tiny_teacher, "corpus", Precision.FP32, runtime=r).digest() for r in (ORT, int8)}
    assert keys == {p.name for p in (tmp_path / "teacher").iterdir()}  # never mixed with the exact targets
    cosine = (exact * approx).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(approx, axis=1)
    assert cosine.min() > teacher_onnx.INT8_PARITY and not np.array_equal(exact, approx)
    (folder,) = (tmp_path / "teacher-onnx").iterdir()
    assert (folder / quantized_file(host_target() or "", QuantKind.ROWWISE)).is_file()  # once, beside fp32
    assert int8.exact is ORT and ORT.exact is ORT
    with pytest.raises(ConfigError, match="onnxruntime-int8"):
        load_config(tiny_config_toml, ["teacher.runtime='onnxruntime-int8'", "teacher.precision='bf16'"])
