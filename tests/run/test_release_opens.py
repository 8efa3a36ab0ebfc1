"""The release folder serves the way its export measured: it carries every section of the export's manifest, and
``Embedder``, ``compress serve``, sentence-transformers (ONNX and OpenVINO backends, each int8 file), transformers.js
(Node) and fastembed open it as they open the export's folder, with the same vectors."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from compress.metrics import cosines
from export.artifact import layout
from export.artifact.manifest import BOOKKEEPING, read_manifest
from serve import Embedder
from tests.conftest import make_sentences
from tests.run.conftest import Release
from tests.serve.conftest import serve_process

TEXTS = make_sentences(12, seed=51)


def export_folder(release: Release) -> Path:
    (folder,) = (release.cache / "stages" / "export").glob("*/model")
    return folder


def test_the_release_carries_every_section_of_the_exports_manifest(release: Release) -> None:
    exported, released = read_manifest(export_folder(release)), release.manifest()
    sections = [k for k in exported if k not in BOOKKEEPING]
    assert {"batch_invariance", "runtime_benchmark", "openvino", "ort_format", "quantized"} <= set(sections)
    for key in sections:
        assert released[key] == exported[key], key
    assert released["kind"] == "run" and released["passed"] is True


def test_embedder_opens_the_release_as_it_opens_the_export(release: Release) -> None:
    for runtime in ("auto", "onnxruntime", "openvino"):
        mine, theirs = Embedder(release.out, runtime=runtime), Embedder(export_folder(release), runtime=runtime)
        assert (mine.file, mine.runtime, mine.runtime_reason, mine.batch_invariant) == (
            theirs.file, theirs.runtime, theirs.runtime_reason, theirs.batch_invariant), runtime
        assert np.array_equal(mine.encode(TEXTS), theirs.encode(TEXTS))
    assert Embedder(release.out, runtime="onnxruntime").batch_invariant  # the static file, measured invariant


def test_compress_serve_runs_the_release_as_measured(release: Release) -> None:
    with serve_process(release.out) as (_, url):
        info = httpx.get(f"{url}/info").json()
        expected = Embedder(export_folder(release))
        assert (info["file"], info["runtime"], info["batch_invariant"]) == (expected.file, expected.runtime,
                                                                             expected.batch_invariant)
        reply = httpx.post(f"{url}/v1/embeddings", json={"input": TEXTS, "model": "x"}, timeout=60)
        served = np.array([d["embedding"] for d in reply.json()["data"]])
        assert cosines(served, expected.encode(TEXTS)).min() > 0.99999


def _onnx_int8(release: Release) -> list[str]:
    return sorted(f for f in release.manifest()["quantized"] if layout.runtime_of(f) == "onnxruntime")


def test_sentence_transformers_onnx_backend_opens_each_int8_file_of_the_release(release: Release) -> None:
    from sentence_transformers import SentenceTransformer

    files = _onnx_int8(release)
    assert {"onnx/model_qrow_avx2.onnx", "onnx/model_qint8_arm64.onnx"} <= set(files)
    for file in files:
        model = SentenceTransformer(str(release.out), backend="onnx", device="cpu", model_kwargs={"file_name": file})
        got = model.encode(TEXTS, convert_to_numpy=True, batch_size=1)
        assert cosines(got, _file_vectors(export_folder(release), file)).min() > 0.9999, file


def _file_vectors(folder: Path, file: str) -> np.ndarray:
    """``file``'s own ``sentence_embedding``, one text at a time (the reference the other runtimes must give)."""
    from export.artifact.encoder import OnnxEncoder

    encoder = OnnxEncoder(folder / file, folder, layout.max_length_of(folder))
    return np.concatenate([encoder.encode([t]) for t in TEXTS])


def test_sentence_transformers_openvino_backend_opens_the_release(release: Release) -> None:
    """sentence-transformers' OpenVINO users load each IR file by ``file_name`` (optimum-intel refuses an IR with
    both ``token_embeddings`` and ``sentence_embedding``: the IR has ``last_hidden_state`` and the pooled output)."""
    from sentence_transformers import SentenceTransformer

    for xml in (layout.OV_FP32, layout.OV_INT8):
        model = SentenceTransformer(str(release.out), backend="openvino", device="cpu",
                                    model_kwargs={"file_name": xml, "ov_config": {"INFERENCE_PRECISION_HINT": "f32"}})
        got = model.encode(TEXTS, convert_to_numpy=True, batch_size=1)
        ov = Embedder(export_folder(release), target="fp32" if xml == layout.OV_FP32 else "auto", runtime="openvino")
        assert ov.file == xml
        assert cosines(got, np.concatenate([ov.encode([t]) for t in TEXTS])).min() > 0.9999, xml


def test_transformers_js_and_fastembed_open_the_release(release: Release, tmp_path: Path) -> None:
    pytest.importorskip("fastembed")
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    from compress.bench.edge import js

    file = "onnx/model_qrow_avx2.onnx"  # com.microsoft's MatMulIntegerToFloat in onnxruntime-node and fastembed
    own = _file_vectors(release.out, file)
    assert cosines(own, _file_vectors(export_folder(release), file)).min() > 0.999999
    run = js.run_node(js.js_spec(release.out, file, TEXTS, None, None), tmp_path, 600)
    assert all(cosines(v, own).min() >= 0.9999 for v in run.embeddings.values())
    name = "local/st-compress-release-test"
    if name not in {m["model"] for m in TextEmbedding.list_supported_models()}:
        TextEmbedding.add_custom_model(model=name, pooling=PoolingType.MEAN, normalization=True,
                                       sources=ModelSource(hf=name), dim=own.shape[1], model_file=file)
    model = TextEmbedding(name, specific_model_path=str(release.out), local_files_only=True)
    got = np.array(list(model.embed(TEXTS, batch_size=1)))
    assert cosines(got, own).min() > 0.9999
