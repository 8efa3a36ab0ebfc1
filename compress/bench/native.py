"""Each model measured the way its own users call it, beside the harness's fixed batches: one call over the whole
list of timing sentences, through the library's own encode (which batches, sorts and tokenizes its way).

- ours (``onnx``): ``serve.Embedder.encode(texts)`` (length-sorted batches of 32);
- sentence-transformers (``torch``, ``st-onnx``): ``SentenceTransformer.encode(texts, batch_size=32)`` (it sorts
  by length too);
- Model2Vec: ``StaticModel.encode(texts)`` (its default batch of 1024, one call for the whole list).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_TEXTS = 1024  # the whole list, up to this many timing sentences
Encode = Callable[[list[str]], np.ndarray]


def _ours(spec: dict[str, Any]) -> tuple[str, Encode]:
    from serve.embedder import Embedder

    embedder = Embedder(spec["path"], threads=spec.get("threads"), verify_checksums=False, file=spec["file"])
    return "serve.Embedder.encode(texts)", embedder.encode


def st_backend_model(spec: dict[str, Any]) -> Any:
    """A sentence-transformers folder on its ONNX or OpenVINO backend, with the profile's thread count (the
    runtimes' default pools would escape the pinned cores)."""
    from sentence_transformers import SentenceTransformer

    if spec["kind"] == "st-openvino":
        return SentenceTransformer(spec["path"], device="cpu", backend="openvino", model_kwargs={
            "file_name": spec["file"], "ov_config": {"INFERENCE_NUM_THREADS": spec["threads"]}
            if spec.get("threads") else {}})
    from export.artifact.encoder import session_options

    return SentenceTransformer(spec["path"], device="cpu", backend="onnx", model_kwargs={
        "file_name": spec["file"], "provider": "CPUExecutionProvider",
        "session_options": session_options(spec.get("threads"))})


def _sentence_transformers(spec: dict[str, Any]) -> tuple[str, Encode]:
    from compress.models import load_sentence_transformer

    if spec["kind"] in ("st-onnx", "st-openvino"):
        model = st_backend_model(spec)
    else:
        model = load_sentence_transformer(spec["path"], device="cpu").eval()
    return ("SentenceTransformer.encode(texts, batch_size=32)",
            lambda texts: model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False))


def _model2vec(spec: dict[str, Any]) -> tuple[str, Encode]:
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(spec["path"], force_download=False)
    return "StaticModel.encode(texts)", lambda texts: model.encode(texts, use_multiprocessing=False)


NATIVE: dict[str, Callable[[dict[str, Any]], tuple[str, Encode]]] = {
    "onnx": _ours, "torch": _sentence_transformers, "st-onnx": _sentence_transformers,
    "st-openvino": _sentence_transformers, "model2vec": _model2vec}


def as_users_call(spec: dict[str, Any]) -> dict[str, Any]:
    """Sentences per second of one whole-list call (after a warm-up call on a few of them)."""
    call, encode = NATIVE[spec["kind"]](spec)
    texts = list(spec["sentences"][:MAX_TEXTS])
    encode(texts[:64])
    start = time.perf_counter()
    vectors = encode(texts)
    seconds = time.perf_counter() - start
    return {"call": call, "texts": len(texts), "per_s": len(texts) / seconds, "dim": int(np.asarray(vectors).shape[1])}


