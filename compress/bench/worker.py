"""One measurement, in a fresh process: ``python -m compress.bench.worker SPEC.json``.

The process pins itself to the profile's cores and threads before any heavy import, loads one model (PyTorch
sentence-transformers or an ONNX file with onnxruntime, never both; for peer comparisons also
sentence-transformers' ONNX backend and Model2Vec), and prints one JSON line of results.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Tokenize = Callable[[list[str]], Any]
Infer = Callable[[Any], np.ndarray]


def pin(spec: dict[str, Any]) -> None:
    """Restrict every thread of this process to the profile's cores (threads started later inherit it). Every
    thread, not just this one: importing numpy has already started OpenBLAS's pool."""
    if spec.get("cores") and hasattr(os, "sched_setaffinity"):
        tasks = Path("/proc/self/task")
        for tid in [int(t) for t in os.listdir(tasks)] if tasks.exists() else [0]:
            with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
                os.sched_setaffinity(tid, set(spec["cores"]))
    if spec.get("threads"):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(spec["threads"])


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss survives exec, so a worker started by a large parent would
    report the parent's size; VmHWM in /proc/self/status belongs to the new process image."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _torch_model(spec: dict[str, Any]) -> tuple[Tokenize, Infer]:
    import torch

    from compress.models import load_sentence_transformer

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    if spec["kind"] in ("st-onnx", "st-openvino"):  # sentence-transformers' own backends (pooling in torch)
        from compress.bench.native import st_backend_model

        model = st_backend_model(spec)
    else:
        model = load_sentence_transformer(spec["path"], device="cpu").eval()

    def tokenize(texts: list[str]) -> Any:
        return model.preprocess(list(texts))

    def infer(features: Any) -> np.ndarray:
        with torch.inference_mode():
            return model(features)["sentence_embedding"].float().numpy()

    return tokenize, infer


def _onnx_model(spec: dict[str, Any]) -> tuple[Tokenize, Infer]:
    from export.artifact.load import open_file

    encoder = open_file(Path(spec["path"]), spec["file"], spec.get("threads"))  # onnxruntime, or OpenVINO for IR
    return encoder.feeds, encoder.run


def _static_model(spec: dict[str, Any]) -> tuple[Tokenize, Infer]:
    """A Model2Vec folder, run by the model2vec package itself (numpy; tokenization is part of encode)."""
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(spec["path"], force_download=False)
    return list, lambda texts: model.encode(texts, use_multiprocessing=False)


LOADERS: dict[str, Callable[[dict[str, Any]], tuple[Tokenize, Infer]]] = {
    "torch": _torch_model, "st-onnx": _torch_model, "st-openvino": _torch_model, "onnx": _onnx_model,
    "model2vec": _static_model}


def _latency(tokenize: Tokenize, infer: Infer, sentences: list[str], calls: int, warmup: int) -> dict[str, Any]:
    for i in range(warmup):
        infer(tokenize([sentences[i % len(sentences)]]))
    tok, inf = np.zeros(calls), np.zeros(calls)
    for i in range(calls):
        start = time.perf_counter()
        features = tokenize([sentences[i % len(sentences)]])
        middle = time.perf_counter()
        infer(features)
        tok[i], inf[i] = middle - start, time.perf_counter() - middle

    def stats(values: np.ndarray) -> dict[str, float]:
        return {f"p{q}_ms": 1000 * float(np.percentile(values, q)) for q in (50, 90, 95, 99)}

    return {"calls": calls, "total": stats(tok + inf), "tokenize": stats(tok), "inference": stats(inf)}


def _throughput(tokenize: Tokenize, infer: Infer, sentences: list[str], batch: int, batches: int,
                min_seconds: float = 0.0) -> float:
    """Sentences per second over at least ``batches`` batches and at least ``min_seconds``."""
    infer(tokenize(sentences[:batch]))
    start = time.perf_counter()
    done = 0
    while done < batches or time.perf_counter() - start < min_seconds:
        chunk = [sentences[(done * batch + j) % len(sentences)] for j in range(batch)]
        infer(tokenize(chunk))
        done += 1
    return batch * done / (time.perf_counter() - start)


def _encode_all(tokenize: Tokenize, infer: Infer, texts: list[str], batch: int = 32,
                label: str | None = None) -> np.ndarray:
    """Embeddings of ``texts`` in batches; with a ``label``, a progress line every 30 s."""
    parts, last = [], time.monotonic()
    for start in range(0, len(texts), batch):
        parts.append(infer(tokenize(texts[start:start + batch])))
        if label is not None and time.monotonic() - last > 30:
            report_progress(f"{label}: {start + batch:,}/{len(texts):,} texts embedded")
            last = time.monotonic()
    return np.concatenate(parts)


def _encode_by_length(tokenize: Tokenize, infer: Infer, texts: list[str], label: str, batch: int = 32) -> np.ndarray:
    """Embeddings in input order, encoded in batches of similar length (documents vary: less padding)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = _encode_all(tokenize, infer, [texts[i] for i in order], batch, label)
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


def _save_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, np.asarray(array, dtype=np.float32))
    os.replace(tmp, path)


def _sts(tokenize: Tokenize, infer: Infer, sts: dict[str, Any]) -> float:
    from compress.data.sts import StsPairs
    from compress.metrics import sts_spearman_from_embeddings

    pairs = StsPairs(sts["s1"], sts["s2"], sts["scores"])
    return sts_spearman_from_embeddings(_encode_all(tokenize, infer, pairs.sentences1),
                                        _encode_all(tokenize, infer, pairs.sentences2), pairs)


def _accuracy(tokenize: Tokenize, infer: Infer, spec: dict[str, Any], out: dict[str, Any]) -> None:
    """STS sets, held-back embeddings, and the retrieval texts to embed (``encode``: each saved to its path)."""
    if spec.get("sts"):
        out["sts_spearman"] = _sts(tokenize, infer, spec["sts"])
    if spec.get("sts_sets"):
        out["sts_sets"] = {name: {"spearman": _sts(tokenize, infer, sts)} for name, sts in spec["sts_sets"].items()}
    if spec["heldback"]:  # empty: this file's accuracy was measured on an earlier profile
        np.save(spec["embeddings_out"], _encode_all(tokenize, infer, spec["heldback"]))
    for request in spec.get("encode") or []:
        label = f"{spec.get('label', spec['path'])} {request.get('what', 'texts')}"
        start = time.perf_counter()
        with _precision(request.get("precision", "fp32")):
            _save_atomic(Path(request["out"]), _encode_by_length(tokenize, infer, request["texts"], label))
        out.setdefault("retrieval_encode_s", {})[request.get("what", "texts")] = time.perf_counter() - start


def _precision(precision: str) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast for a PyTorch model's retrieval texts (``RetrievalData.precision``), else nothing."""
    if precision != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    tokenize, infer = LOADERS[spec["kind"]](spec)
    sentences: list[str] = spec["sentences"]
    infer(tokenize(sentences[:1]))
    out: dict[str, Any] = {"first_embedding_at": time.time(),
                           "rss_after_load_mb": peak_rss_mb()}
    out["latency_batch1"] = _latency(tokenize, infer, sentences, spec["latency_calls"], spec["warmup"])
    batches, seconds = spec["throughput_batches"], spec.get("throughput_seconds", 0.0)
    out["throughput"] = {str(b): _throughput(tokenize, infer, sentences, b, batches, seconds)
                         for b in spec["batch_sizes"]}
    # as serve batches: length-sorted batches of 32 (fewer pads), beside the unsorted ones above
    by_length = sorted(sentences, key=len)
    out["throughput_sorted"] = {"32": _throughput(tokenize, infer, by_length, 32, batches, seconds)}
    out["length_profile"] = {name: _throughput(tokenize, infer, group, 32, batches, seconds)
                             for name, group in spec["length_groups"].items() if group}
    _accuracy(tokenize, infer, spec, out)
    if spec["heldback"]:
        out["batch_invariance"] = _invariance(tokenize, infer, spec["heldback"])
    out["peak_rss_mb"] = peak_rss_mb()
    out["imported_torch"] = "torch" in sys.modules
    if spec.get("as_users_call"):  # after the peak RSS: it loads the model a second time, through its library
        from compress.bench.native import as_users_call

        out["as_users_call"] = as_users_call(spec)
    return out


INVARIANCE_TEXTS = 64
INVARIANCE_BATCH = 32


def _invariance(tokenize: Tokenize, infer: Infer, texts: list[str]) -> dict[str, Any]:
    """Batch 1 against batch 32 on the same texts: min and mean cosine (1.0: the same vector in any batch), as the
    export measures its files (``export.artifact.invariance``)."""
    from export.artifact.invariance import measure_invariance

    found = measure_invariance(lambda chunk, batch: _encode_all(tokenize, infer, chunk, batch), texts, floor=1.0,
                               texts=INVARIANCE_TEXTS, batch_sizes=(INVARIANCE_BATCH,))
    return {"min_cosine": found.min_cosine, "mean_cosine": found.mean_cosine, "texts": found.sentences,
            "batch": INVARIANCE_BATCH}


PROGRESS = "st-compress progress: "  # a worker's stderr line that the parent logs as it comes


def report_progress(message: str) -> None:
    print(PROGRESS + message, file=sys.stderr, flush=True)


def spawn(module: str, spec: dict[str, Any], path: Path, timeout: float, python: list[str] | None = None,
          env: dict[str, str] | None = None) -> tuple[Any, str | None]:
    """Write ``spec`` to ``path``, run ``python -m module path`` in a fresh process (``python``: another
    interpreter's command line, e.g. an emulated one), and return the JSON of its last stdout line, or
    ``(None, why)``: the last line of its stderr, else its exit code. Progress lines on its stderr are logged
    while it runs."""
    import logging
    import subprocess
    import threading

    path.write_text(json.dumps(spec))
    proc = subprocess.Popen([*(python or [sys.executable]), "-m", module, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []

    def drain() -> None:
        for line in proc.stderr or ():
            if line.startswith(PROGRESS):
                logging.getLogger(__name__).info("%s", line[len(PROGRESS):].rstrip())
            else:
                lines.append(line)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except BaseException:  # a timeout, or the run stopped (Ctrl-C, SIGTERM): the worker does not outlive it
        proc.kill()
        proc.communicate()
        raise
    reader.join(timeout=10)
    if proc.returncode != 0:
        err = "".join(lines).strip()
        return None, err.splitlines()[-1] if err else f"exit {proc.returncode}"
    return json.loads(stdout.strip().splitlines()[-1]), None


def run_spec(measure_fn: Callable[[dict[str, Any]], Any]) -> None:
    """Read the spec named on the command line, pin this process to its cores and threads, print one JSON line."""
    spec = json.loads(Path(sys.argv[1]).read_text())
    pin(spec)
    print(json.dumps(measure_fn(spec)), flush=True)


def main() -> None:
    run_spec(measure)


if __name__ == "__main__":
    main()
