from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from compress.errors import CompressError
from compress.metrics import cosines
from export.artifact.host import host_target
from export.artifact.layout import choose_file, preference
from export.artifact.load import resolve_runtime
from serve.embedder import Embedder, default_threads
from tests.conftest import REPO, make_sentences


def test_picks_the_host_file_and_matches_sentence_transformers(exported) -> None:
    auto = Embedder(exported.out_dir)  # the runtime the export measured fastest here: either may win on a tiny model
    assert auto.file == choose_file(exported.out_dir, host_target(), runtime=resolve_runtime(exported.out_dir).runtime)
    embedder = Embedder(exported.out_dir, runtime="onnxruntime")
    expected = next(f for f in preference(host_target()) if (exported.out_dir / f).exists())
    assert embedder.file == expected
    sentences = make_sentences(20, seed=8)
    reference = SentenceTransformer(str(exported.out_dir), backend="onnx", device="cpu",
                                    model_kwargs={"file_name": embedder.file}).encode(sentences)
    assert cosines(embedder.encode(sentences, batch_size=3), reference).min() >= 0.9999
    assert embedder.threads == default_threads()  # a transformer graph: all cores up to 4 (static: one)


def test_default_threads_follow_the_cores_the_process_may_use(exported, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from export.artifact.encoder import OnnxEncoder

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)  # taskset -c 0, a 1-cpu cpuset
    assert default_threads() == 1 and Embedder(exported.out_dir).threads == 1
    encoder = OnnxEncoder(exported.out_dir / "onnx" / "model.onnx", exported.out_dir, 16)
    assert encoder.threads == 1  # not onnxruntime's default: one worker pinned to each of the 8 cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert default_threads() == 4 and OnnxEncoder(exported.out_dir / "onnx" / "model.onnx", exported.out_dir,
                                                  16).threads is None


def test_order_empty_strings_truncation_and_normalize(exported) -> None:
    embedder = Embedder(exported.out_dir, target="fp32")
    texts = ["a dog.", "", "the man reads a big red book in the park near the house " * 20, "two cats."]
    together = embedder.encode(texts, batch_size=2)
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    assert together.shape == (4, embedder.dim)
    assert cosines(together, alone).min() > 0.99999  # input order kept across length-sorted batches
    assert np.all(np.isfinite(together))
    normalized = embedder.encode(texts, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1, atol=1e-5)
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_explicit_targets(exported) -> None:
    # the row-wise (batch-invariant) int8 file before the static and dynamic ones
    assert Embedder(exported.out_dir, target="avx2", runtime="onnxruntime").file == "onnx/model_qrow_avx2.onnx"
    assert Embedder(exported.out_dir, target="fp32").target == "fp32"
    with pytest.raises(CompressError, match="no file for target 'arm64'"):
        Embedder(exported.out_dir, target="arm64")


def test_refuses_a_tampered_artifact(exported, tmp_path: Path) -> None:
    copy = tmp_path / "art"
    shutil.copytree(exported.out_dir, copy)
    path = copy / "onnx" / "model_qint8_avx2.onnx"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CompressError, match=r"checksum mismatch in onnx/model_qint8_avx2\.onnx"):
        Embedder(copy)


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_serving_never_imports_torch(exported, runtime: str) -> None:
    pytest.importorskip(runtime)
    code = f"""
import sys, json, threading, time
from serve import Embedder
from serve.app import create_app
import httpx, uvicorn
embedder = Embedder({str(exported.out_dir)!r}, runtime={runtime!r})
assert embedder.runtime == {runtime!r}, embedder.runtime
vectors = embedder.encode(["hello there", "a dog runs."])
server = uvicorn.Server(uvicorn.Config(create_app(embedder), host="127.0.0.1", port=0, log_level="warning"))
thread = threading.Thread(target=server.run, daemon=True); thread.start()
while not server.started: time.sleep(0.02)
port = server.servers[0].sockets[0].getsockname()[1]
reply = httpx.post(f"http://127.0.0.1:{{port}}/v1/embeddings", json={{"input": "hello"}}).json()
server.should_exit = True; thread.join()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "sentence_transformers",
                                                               "optimum", "scipy", "tqdm", "nncf"))
print(json.dumps({{"heavy": heavy, "dims": len(reply["data"][0]["embedding"]), "shape": list(vectors.shape)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["dims"] == 32 and result["shape"] == [2, 32]


SPINNING = "session.intra_op.allow_spinning"


def _spins(embedder: Embedder) -> bool:
    options = embedder.encoder.session.get_session_options()  # type: ignore[attr-defined]
    try:
        return str(options.get_session_config_entry(SPINNING)) != "0"
    except RuntimeError:  # not set: onnxruntime's default, spinning
        return True


def test_the_server_s_onnxruntime_threads_sleep_between_runs(exported) -> None:
    """A library call keeps onnxruntime's spinning threads (lowest latency for back-to-back calls); the server's
    sleep between runs, leaving the cores to its HTTP work."""
    from serve.server import build_server

    assert _spins(Embedder(exported.out_dir, runtime="onnxruntime"))
    assert not _spins(Embedder(exported.out_dir, runtime="onnxruntime", spin=False))
    server = build_server(exported.out_dir, runtime="onnxruntime")
    assert not _spins(server.config.app.state.batcher.encode.__self__)
