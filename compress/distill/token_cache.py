"""The teacher's final token states beside its sentence embeddings: token-level targets, cached once.

A mean-pooling teacher's sentence embedding is the (normalized) mean of its final token states; those states give
one target per token (about 22 per corpus sentence) for the price of the same forward pass. Layout of
``<cache_dir>/teacher-tokens/<key>/``, one group of files per chunk of texts, each written to a temporary name and
renamed (``lengths-NNNNN.npy`` last: its presence marks the chunk complete), so a killed run resumes at the first
incomplete chunk:

- ``pooled-NNNNN.npy``: (texts, dim) float32, the teacher's sentence embeddings (the sentence-level targets);
- ``tokens-NNNNN.npy``: (tokens, dim) float16, the final token states of the chunk's texts, concatenated
  (special tokens included, as the teacher's mean pooling includes them);
- ``lengths-NNNNN.npy``: (texts,) int32, tokens per text.

``meta.json`` (written last) says the cache is complete. The key is the sentence cache's plus ``tokens`` and the
storage dtype, so a sentences-only run and a token run never read each other's files.
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
from compress.distill.chunks import ChunkPlan
from compress.distill.teacher_cache import CacheKey, teacher_key
from compress.faults import crash_point
from compress.io import write_json_atomic, write_npy_atomic
from compress.precision import autocast, resolve
from compress.progress import progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# a batch of texts -> (pooled (n, dim) float32, each text's token states (len_i, dim))
TokenEncodeFn = Callable[[list[str]], tuple[np.ndarray, list[np.ndarray]]]
TOKEN_DTYPE = "float16"


def token_key(sentence_key: CacheKey, layer: int | None = None) -> str:
    """``layer``: the teacher block whose output states are cached (None: the final states, the key as before)."""
    blob = json.dumps({**sentence_key.__dict__, "tokens": True, "dtype": TOKEN_DTYPE,
                       **({"layer": layer} if layer is not None else {})}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class TokenTargets:
    """The cached pooled embeddings and token states of ``len(self)`` texts; token rows are memory-mapped."""

    pooled: np.ndarray  # (texts, dim) float32
    chunks: list[np.ndarray]  # per chunk: (tokens, dim) float16 rows
    chunk_of: np.ndarray  # (texts,) the chunk holding each text's rows
    begin: np.ndarray  # (texts,) first row of each text within its chunk
    end: np.ndarray  # (texts,) one past its last row

    def __len__(self) -> int:
        return len(self.pooled)

    def tokens(self, index: int) -> np.ndarray:
        """The token states of text ``index``: (length, dim) float16."""
        return self.chunks[int(self.chunk_of[index])][int(self.begin[index]):int(self.end[index])]


def _paths(folder: Path, chunk: int) -> tuple[Path, Path, Path]:
    return (folder / f"pooled-{chunk:05d}.npy", folder / f"tokens-{chunk:05d}.npy",
            folder / f"lengths-{chunk:05d}.npy")


def _open(folder: Path, n_chunks: int) -> TokenTargets:
    pooled, chunks, chunk_of, begin, end = [], [], [], [], []
    for chunk in range(n_chunks):
        p_path, t_path, l_path = _paths(folder, chunk)
        stops = np.cumsum(np.load(l_path, allow_pickle=False).astype(np.int64))
        pooled.append(np.load(p_path, allow_pickle=False))
        chunks.append(np.load(t_path, mmap_mode="r", allow_pickle=False))
        chunk_of.append(np.full(len(stops), chunk, dtype=np.int32))
        begin.append(np.concatenate([[0], stops[:-1]]).astype(np.int64))
        end.append(stops)
    return TokenTargets(np.concatenate(pooled), chunks, np.concatenate(chunk_of), np.concatenate(begin),
                        np.concatenate(end))


def finished_token_targets(key: CacheKey, cache_dir: Path) -> TokenTargets | None:
    """A complete token cache for ``key``, if there is one: it holds the sentence targets too."""
    folder = cache_dir / "teacher-tokens" / token_key(key)
    meta = folder / "meta.json"
    return _open(folder, int(json.loads(meta.read_text())["chunks"])) if meta.exists() else None


def cached_token_targets(texts: Sequence[str], encode: TokenEncodeFn, key: CacheKey, cache_dir: Path,
                         chunk_size: int = 1024, show_progress: bool = True,
                         layer: int | None = None) -> TokenTargets:
    """Pooled embeddings and token states of ``texts``, computing only the chunks not yet on disk."""
    folder = cache_dir / "teacher-tokens" / token_key(key, layer)
    n_chunks = (len(texts) + chunk_size - 1) // chunk_size
    if (folder / "meta.json").exists():
        log.info("teacher token states: reusing cache %s", folder)
        return _open(folder, n_chunks)
    plan = ChunkPlan(folder, len(texts), chunk_size, lambda c: _paths(folder, c)[2])  # lengths: written last
    mine = plan.start("teacher token states")
    bar = progress_bar(total=plan.texts_in(mine), desc="teacher token states",
                       enabled=show_progress)
    for chunk in mine:
        start, stop = plan.bounds(chunk)
        pooled, tokens = encode(list(texts[start:stop]))
        p_path, t_path, l_path = _paths(folder, chunk)
        write_npy_atomic(p_path, np.asarray(pooled, dtype=np.float32))
        write_npy_atomic(t_path, np.concatenate(tokens).astype(np.float16))
        write_npy_atomic(l_path, np.asarray([len(t) for t in tokens], dtype=np.int32))
        crash_point("teacher-token-chunk")
        bar.update(stop - start)
    bar.close()
    plan.finish(lambda: write_json_atomic(folder / "meta.json", {
        "texts": len(texts), "chunks": n_chunks, "chunk_size": chunk_size, "dtype": TOKEN_DTYPE,
        "key": key.__dict__, "layer": layer}))
    return _open(folder, n_chunks)


def teacher_token_targets(model: SentenceTransformer, texts: Sequence[str], corpus_fingerprint: str,
                          cache_dir: Path, batch_size: int, chunk_size: int, show_progress: bool,
                          precision: Precision, layer: int | None = None) -> TokenTargets:
    """One teacher pass for both targets: its sentence embeddings and its final token states, or those of block
    ``layer`` (the cache key is the sentence cache's, marked ``tokens`` and the layer)."""
    device_type = model.device.type
    precision = resolve(precision, device_type)
    key = teacher_key(model, corpus_fingerprint, precision)
    log.info("teacher embeddings and %s token states: %s on %s", "final" if layer is None else f"block {layer}",
             precision.value, device_type)

    def encode(batch: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        pooled: list[np.ndarray] = [np.empty(0)] * len(batch)
        tokens: list[np.ndarray] = [np.empty(0)] * len(batch)
        order = sorted(range(len(batch)), key=lambda i: len(batch[i]))  # similar lengths: less padding
        for start in range(0, len(batch), batch_size):
            rows = order[start:start + batch_size]
            for row, (vector, states) in zip(rows, _forward(model, [batch[i] for i in rows], precision, layer),
                                             strict=True):
                pooled[row], tokens[row] = vector, states
        return np.stack(pooled), tokens

    return cached_token_targets(texts, encode, key, cache_dir, chunk_size, show_progress, layer)


def _forward(model: SentenceTransformer, texts: list[str], precision: Precision,
             layer: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each text's sentence embedding (the model's output) and its unpadded token states: the final ones, or the
    output of block ``layer``."""
    import torch

    from compress.distill.taps import LayerTaps
    from compress.models import backbone

    features = model.preprocess(list(texts))
    features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
    taps = LayerTaps(backbone(model), hidden=layer is not None, qkv=False)
    taps.active = True
    try:
        with torch.no_grad(), autocast(precision, model.device.type):
            out = model(features)
    finally:
        taps.remove()
    lengths = out["attention_mask"].sum(dim=1).tolist()
    vectors = out["sentence_embedding"].float().cpu().numpy()
    states = (out["token_embeddings"] if layer is None else taps.hidden[layer]).float().cpu().numpy()
    return [(vectors[i], states[i, :int(n)]) for i, n in enumerate(lengths)]
