"""OpenVINO files in the artifact, the runtime choice, and batch invariance of every file (tiny artifact)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compress.config import ExportConfig, OpenVinoMode, Target
from compress.errors import CompressError
from export.artifact import layout
from export.artifact.manifest import batch_invariant, read_manifest, verify, write_manifest
from export.pipeline import ExportResult
from tests.conftest import make_sentences

pytest.importorskip("openvino", reason="the openvino extra is part of the dev setup (scripts/setup.sh)")


def test_openvino_files_in_sentence_transformers_layout_with_parity(exported: ExportResult) -> None:
    out, report = exported.out_dir, exported.report["openvino"]
    for xml in (layout.OV_FP32, layout.OV_INT8):
        assert (out / xml).is_file() and (out / layout.ov_weights(xml)).is_file()
    assert report["parity"]["min_cosine"] >= 0.99999
    entry = report["quantized"][layout.OV_INT8]
    assert entry["runtime"] == "openvino" and entry["kind"] == "nncf-static" and entry["passed"]
    assert entry["attempts"][0]["plan"] == "as preset" and entry["score"]["cosine_mean"] >= 0.98
    assert json.loads((out / layout.settings_file(layout.OV_INT8)).read_text()) == entry
    manifest = read_manifest(out)
    assert manifest["quantized"][layout.OV_INT8]["passed"] and not verify(out)
    assert {layout.OV_INT8, layout.ov_weights(layout.OV_INT8)} <= set(manifest["files"])
    xml = (out / layout.OV_INT8).read_text()
    assert "FakeQuantize" in xml or "FakeConvert" in xml  # really int8: NNCF's quantize/dequantize nodes


def test_openvino_int8_close_to_fp32_and_int8_in_openvino(exported: ExportResult) -> None:
    from export.artifact.load import open_file

    texts = make_sentences(20, seed=3)
    onnx = open_file(exported.out_dir, layout.FP32).encode(texts)
    ov = open_file(exported.out_dir, layout.OV_FP32)
    assert ov.runtime == "openvino"
    # fp32 on every CPU: where AMX is present OpenVINO's default would be bfloat16 (cosine ~0.99996 on the real model)
    assert ov.compiled.get_property("INFERENCE_PRECISION_HINT") == pytest.importorskip("openvino").Type.f32
    np.testing.assert_allclose(ov.encode(texts), onnx, atol=1e-4)
    int8 = open_file(exported.out_dir, layout.OV_INT8).encode(texts)
    cos = (int8 * onnx).sum(1) / np.linalg.norm(int8, axis=1) / np.linalg.norm(onnx, axis=1)
    assert cos.min() > 0.95 and not np.allclose(int8, onnx, atol=1e-4)


def test_every_file_reports_batch_invariance_and_static_files_are_invariant(exported: ExportResult) -> None:
    measured = exported.report["batch_invariance"]
    files = {str(p.relative_to(exported.out_dir)) for p in (exported.out_dir / "onnx").glob("*.onnx")}
    assert files | {layout.OV_FP32, layout.OV_INT8} == set(measured)
    for name, entry in measured.items():
        assert entry["batch_sizes"] == [32, 128] and entry["sentences"] == 64
        if "qint8" not in name:  # fp32, static QDQ, NNCF static: fixed scales
            assert entry["min_cosine"] >= 0.9999 and entry["invariant"], name
    assert read_manifest(exported.out_dir)["batch_invariance"] == measured
    assert batch_invariant(read_manifest(exported.out_dir), "onnx/model_qdq_avx2.onnx")
    assert batch_invariant(read_manifest(exported.out_dir), layout.OV_INT8)


def test_invariance_check_is_real(exported: ExportResult) -> None:
    """Re-measure: a static file's vector alone equals its vector in a batch; a dynamic file's differs (its
    activation scales follow the batch), and the measurement sees it."""
    from export.artifact.invariance import measure_invariance
    from export.artifact.load import open_file

    texts = make_sentences(64, seed=5)
    for file, invariant in (("onnx/model_qdq_avx2.onnx", True), ("onnx/model_qint8_avx2.onnx", False)):
        encoder = open_file(exported.out_dir, file)
        alone = np.concatenate([encoder.encode([t], batch_size=1) for t in texts])
        worst = float(np.abs(encoder.encode(texts, batch_size=32) - alone).max())
        assert (worst < 1e-5) == invariant, (file, worst)
    static = measure_invariance(open_file(exported.out_dir, "onnx/model_qdq_avx2.onnx").encode, texts, 0.9999)
    assert static.invariant and static.min_cosine >= 0.9999 and static.sentences == 64


def test_runtime_choice_follows_the_artifacts_benchmark(exported: ExportResult, tmp_path: Path) -> None:
    from export.artifact.host import host_isa, host_target
    from export.artifact.load import load_artifact, resolve_runtime

    bench = exported.report["runtime_benchmark"]
    assert bench["isa"] == host_isa() and set(bench["measured"]) == {"onnxruntime", "openvino"}
    assert bench["fastest"] in ("onnxruntime", "openvino") and bench["measured"]["openvino"]["batch32_per_s"] > 0
    assert resolve_runtime(exported.out_dir).runtime == bench["fastest"]
    art = tmp_path / "art"
    shutil.copytree(exported.out_dir, art)
    manifest = json.loads((art / "manifest.json").read_text())
    for isa, fastest, expected in ((host_isa(), "openvino", "openvino"), ("some-other-isa", "openvino", "onnxruntime")):
        manifest["runtime_benchmark"] = {**bench, "isa": isa, "fastest": fastest}
        content = {k: v for k, v in manifest.items() if k not in ("schema", "versions", "files", "self_sha256")}
        write_manifest(art, content)
        loaded = load_artifact(art)
        assert loaded.runtime.runtime == expected and isa in loaded.runtime.reason
        assert (loaded.file == layout.OV_INT8) == (expected == "openvino" and host_target() in layout.X86_TARGETS)


def test_embedder_runtimes_and_the_server_batches_only_invariant_files(exported: ExportResult,
                                                                        tmp_path: Path) -> None:
    from serve.app import create_app
    from serve.embedder import Embedder

    ov = Embedder(exported.out_dir, target="fp32", runtime="openvino")
    ort = Embedder(exported.out_dir, target="fp32", runtime="onnxruntime")
    assert ov.file == layout.OV_FP32 and ort.file == layout.OPTIMIZED and ov.batch_invariant
    np.testing.assert_allclose(ov.encode(["a b c", "d"]), ort.encode(["a b c", "d"]), atol=1e-4)
    rowwise = Embedder(exported.out_dir, target="avx2", runtime="onnxruntime")
    assert rowwise.file == "onnx/model_qrow_avx2.onnx" and rowwise.batch_invariant  # the row-wise file first
    assert create_app(rowwise).state.batcher.combine and create_app(ov).state.batcher.combine
    art = tmp_path / "art"  # without its row-wise files, the static one; without both, the dynamic one
    shutil.copytree(exported.out_dir, art, ignore=shutil.ignore_patterns("model_qrow_*"))
    static = Embedder(art, target="avx2", runtime="onnxruntime", verify_checksums=False)
    assert static.file == "onnx/model_qdq_avx2.onnx" and static.batch_invariant
    for path in art.glob("onnx/model_qdq_*"):
        path.unlink()
    dynamic = Embedder(art, target="avx2", runtime="onnxruntime", verify_checksums=False)
    measured = read_manifest(art)["batch_invariance"]["onnx/model_qint8_avx2.onnx"]
    assert dynamic.file == "onnx/model_qint8_avx2.onnx" and dynamic.batch_invariant == measured["invariant"]
    assert create_app(dynamic).state.batcher.combine == measured["invariant"]
    assert batch_invariant(read_manifest(art), "onnx/model_qint8_unmeasured.onnx") is None  # not measured: unknown


def test_batcher_never_combines_requests_on_a_batch_dependent_file() -> None:
    import asyncio

    from serve.batcher import MicroBatcher

    for combine, expected in ((True, "one batch"), (False, "one per request")):
        calls: list[int] = []

        def encode(texts: list[str], seen: list[int] = calls) -> np.ndarray:
            seen.append(len(texts))
            return np.zeros((len(texts), 2))

        batcher = MicroBatcher(encode, max_wait_ms=50, combine=combine)

        async def two(b: MicroBatcher = batcher) -> list[np.ndarray]:
            await b.start()
            out = await asyncio.gather(b.submit(["a"]), b.submit(["b", "c"]))
            await b.stop()
            return list(out)

        vectors = asyncio.run(two())
        assert [len(v) for v in vectors] == [1, 2]
        assert calls == ([3] if combine else [1, 2]), expected


def test_openvino_asked_for_without_files_or_for_arm64(exported: ExportResult, tmp_path: Path) -> None:
    from export.artifact.load import file_for

    with pytest.raises(CompressError, match="OpenVINO files are for x86 targets only"):
        file_for(exported.out_dir, "arm64", "openvino")
    art = tmp_path / "art"
    shutil.copytree(exported.out_dir, art, ignore=shutil.ignore_patterns("openvino"))
    with pytest.raises(CompressError, match="holds no OpenVINO model") as err:
        file_for(art, "fp32", "openvino")
    assert "st-compress[openvino]" in str(err.value.hint)
    with pytest.raises(CompressError, match="unknown runtime"):
        from export.artifact.load import resolve_runtime

        resolve_runtime(art, "tensorrt")


def test_openvino_extra_missing_is_exit_2_with_the_pip_command(exported: ExportResult, tmp_path: Path) -> None:
    """A real process where ``import openvino`` fails (a stub package that raises ImportError first on the path)."""
    stub = tmp_path / "stub" / "openvino"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('openvino is not installed')\n")
    env = {"PYTHONPATH": f"{stub.parent}:{Path.cwd()}", "PATH": "/usr/bin:/bin"}
    code = ("import sys; from compress.cli import app; sys.argv = ['compress', 'serve', sys.argv[1], '--runtime', "
            "'openvino', '--port', '1']; app()")
    done = subprocess.run([sys.executable, "-c", code, str(exported.out_dir)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "OpenVINO runtime is not installed" in done.stderr and "pip install 'st-compress[openvino]'" in done.stderr


def test_export_openvino_on_without_extra_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from compress import extras
    from compress.config.checks import _validate_openvino
    from compress.errors import ConfigError
    from export import openvino_export

    assert openvino_export.wanted(ExportConfig(openvino=OpenVinoMode.OFF)) == 'export.openvino = "off"'
    assert "no x86 target" in str(openvino_export.wanted(ExportConfig(targets=[Target("arm64")])))
    monkeypatch.setattr(extras, "openvino_available", lambda: False)
    with pytest.raises(ConfigError, match=r"export\.openvino") as err:
        _validate_openvino(ExportConfig(openvino=OpenVinoMode.ON))
    assert "pip install 'st-compress[openvino]'" in str(err.value.hint)


def test_ffn_output_projections_are_found_in_both_graphs(exported: ExportResult) -> None:
    """The static gate's first retry: the MatMuls fed by a GELU, spelled out (unfused) or fused (BiasGelu)."""
    from export.sensitivity import after_activation_matmuls

    for graph in (layout.FP32, layout.OPTIMIZED):
        found = after_activation_matmuls(exported.out_dir / graph)
        assert len(found) == 2 and all("output/dense" in n and "attention" not in n for n in found), found


def test_runtime_benchmark_chooses_only_a_batch_invariant_file(exported: ExportResult) -> None:
    """serve batches requests together only on an invariant file: the runtime choice never lands on another."""
    from export.runtime_bench import measure_runtimes

    files = {"onnxruntime": "onnx/model_qint8_avx2.onnx", "openvino": layout.OV_INT8}
    texts = make_sentences(12, seed=31)
    for dependent, chosen in (("onnx/model_qint8_avx2.onnx", "openvino"), (layout.OV_INT8, "onnxruntime")):
        got = measure_runtimes(exported.out_dir, files, texts, {f: f != dependent for f in files.values()})
        assert got["fastest"] == chosen and "(not batch-invariant: not chosen)" in got["summary"]
        assert got["batch_invariant"][chosen] is True
