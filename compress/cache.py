"""The teacher embedding cache: a memory-mapped float32 array filled chunk by chunk, resumable after a crash.

Layout of ``<cache_dir>/teacher/<key>/``: ``embeddings.f32`` (raw rows), ``progress.json`` (chunks done, written
atomically after each chunk is flushed) and ``meta.json`` (written last: the cache is complete). The key hashes
the teacher's weights, the corpus content, the max sequence length, the normalization and the precision of the
teacher's forward pass (bf16 targets are within cosine 0.99998 of fp32 ones, but not equal).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compress.config import Precision
from compress.faults import crash_point
from compress.io import write_json_atomic
from compress.models import has_normalize
from compress.precision import autocast, resolve
from compress.progress import progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

EncodeFn = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class CacheKey:
    weights: str
    corpus: str
    max_seq_length: int | None
    normalize: bool
    precision: str = "fp32"

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:24]


def weights_fingerprint(model: SentenceTransformer) -> str:
    """A hash of every tensor in the model (names, shapes, bytes)."""
    import torch

    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def teacher_key(model: SentenceTransformer, corpus_fingerprint: str,
                precision: Precision = Precision.FP32) -> CacheKey:
    """``precision``: the resolved one (``resolve``), so that a cache says how it was computed."""
    return CacheKey(weights_fingerprint(model), corpus_fingerprint, model.max_seq_length, has_normalize(model),
                    precision.value)


def cached_embeddings(sentences: Sequence[str], encode: EncodeFn, key: CacheKey, cache_dir: Path,
                      chunk_size: int = 2048, show_progress: bool = True) -> np.ndarray:
    """Return the embeddings of ``sentences``, computing only the chunks not yet on disk."""
    folder = cache_dir / "teacher" / key.digest()
    meta_path, progress_path, data_path = folder / "meta.json", folder / "progress.json", folder / "embeddings.f32"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        log.info("teacher embeddings: reusing cache %s", folder)
        return np.memmap(data_path, dtype=np.float32, mode="r", shape=tuple(meta["shape"]))
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = (len(sentences) + chunk_size - 1) // chunk_size
    done = json.loads(progress_path.read_text())["chunks_done"] if progress_path.exists() else 0
    dim = json.loads(progress_path.read_text())["dim"] if progress_path.exists() else None
    array: np.memmap | None = None
    if dim is not None:
        array = np.memmap(data_path, dtype=np.float32, mode="r+", shape=(len(sentences), dim))
        log.info("teacher embeddings: resuming at chunk %d of %d", done + 1, n_chunks)
    bar = progress_bar(total=len(sentences), desc="teacher embeddings", enabled=show_progress,
                       initial=min(done * chunk_size, len(sentences)))
    for chunk in range(done, n_chunks):
        start, stop = chunk * chunk_size, min((chunk + 1) * chunk_size, len(sentences))
        vectors = np.asarray(encode(list(sentences[start:stop])), dtype=np.float32)
        if array is None:
            dim = int(vectors.shape[1])
            array = np.memmap(data_path, dtype=np.float32, mode="w+", shape=(len(sentences), dim))
        array[start:stop] = vectors
        array.flush()
        write_json_atomic(progress_path, {"chunks_done": chunk + 1, "dim": dim, "chunk_size": chunk_size})
        crash_point("teacher-chunk")
        bar.update(stop - start)
    bar.close()
    if array is None:
        raise ValueError("no sentences to embed")
    write_json_atomic(meta_path, {"shape": [len(sentences), dim], "key": key.__dict__})
    return np.memmap(data_path, dtype=np.float32, mode="r", shape=(len(sentences), int(dim or 0)))


def teacher_embeddings(model: SentenceTransformer, sentences: Sequence[str], corpus_fingerprint: str,
                       cache_dir: Path, batch_size: int = 64, chunk_size: int = 2048,
                       show_progress: bool = True, precision: Precision = Precision.FP32) -> np.ndarray:
    """Embed ``sentences`` with the teacher through the cache (``precision``: fp32, bf16 or auto)."""
    device_type = model.device.type
    precision = resolve(precision, device_type)
    key = teacher_key(model, corpus_fingerprint, precision)
    log.info("teacher embeddings: %s on %s", precision.value, device_type)

    def encode(batch: list[str]) -> np.ndarray:
        with autocast(precision, device_type):
            vectors = model.encode(batch, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)
        return vectors.float().cpu().numpy()

    return cached_embeddings(sentences, encode, key, cache_dir, chunk_size, show_progress)
