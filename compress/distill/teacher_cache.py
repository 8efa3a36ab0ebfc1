"""The teacher embedding cache: chunk files filled by one process or by every rank of a torchrun job, resumable.

Layout of ``<cache_dir>/teacher/<key>/``: ``chunks/<i>.npy`` (one per chunk of ``chunk_size`` sentences, written to
a temporary name, flushed and renamed: a chunk file that exists is complete, it is its own marker), then
``embeddings.f32`` (or ``.f16``; the raw rows, assembled from the chunks by rank 0) and ``meta.json`` (written last:
the cache is complete; the chunk files are then removed). Under torchrun, chunk ``i`` is rank ``i % world``'s, so a
resume with another number of ranks still fills exactly the missing chunks; every rank embeds with the same chunking
and batch size, so the array is the one a single process makes. The key hashes the teacher's weights, the corpus
content, the max sequence length, the normalization, the precision of the teacher's forward pass (bf16 targets are
within cosine 0.99998 of fp32 ones, but not equal) and the stored dtype (float16 halves the file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compress.config import CacheDtype, Precision, TeacherRuntime
from compress.distill.chunks import ChunkPlan
from compress.distill.teacher_runtime import PARITY_TEXTS, onnx_encoder
from compress.faults import crash_point
from compress.io import write_json_atomic, write_npy_atomic
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
    dtype: str = "float32"  # as stored
    runtime: str = "torch"  # what ran the teacher (onnxruntime's fp32 vectors are within 1e-7 of PyTorch's)

    def fields(self) -> dict[str, object]:
        """The key's fields; float32 and torch, the original layout and runtime, are left out so that their caches
        keep their names."""
        plain = dict(self.__dict__)
        if plain["dtype"] == "float32":
            plain.pop("dtype")
        if plain["runtime"] == "torch":
            plain.pop("runtime")
        return plain

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.fields(), sort_keys=True).encode()).hexdigest()[:24]


def weights_fingerprint(model: SentenceTransformer) -> str:
    """A hash of every tensor in the model (names, shapes, bytes)."""
    import torch

    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def teacher_key(model: SentenceTransformer, corpus_fingerprint: str, precision: Precision = Precision.FP32,
                dtype: CacheDtype = CacheDtype.FLOAT32, runtime: TeacherRuntime = TeacherRuntime.TORCH,
                weights: str | None = None) -> CacheKey:
    """``precision`` and ``runtime``: the resolved ones, so that a cache says how it was computed; ``weights``: the
    model's ``weights_fingerprint`` when the caller has it."""
    return CacheKey(weights or weights_fingerprint(model), corpus_fingerprint, model.max_seq_length,
                    has_normalize(model), precision.value, dtype.value, runtime.value)


SUFFIX = {"float32": "f32", "float16": "f16"}


def _chunk_path(folder: Path, chunk: int) -> Path:
    return folder / "chunks" / f"{chunk:06d}.npy"


def _data_path(folder: Path, key: CacheKey) -> Path:
    return folder / f"embeddings.{SUFFIX[key.dtype]}"


def is_finished(key: CacheKey, cache_dir: Path) -> bool:
    return (cache_dir / "teacher" / key.digest() / "meta.json").is_file()


def _open_finished(folder: Path, key: CacheKey) -> np.ndarray:
    meta = json.loads((folder / "meta.json").read_text())
    return np.memmap(_data_path(folder, key), dtype=key.dtype, mode="r", shape=tuple(meta["shape"]))


def cached_embeddings(sentences: Sequence[str], encode: EncodeFn, key: CacheKey, cache_dir: Path,
                      chunk_size: int = 2048, show_progress: bool = True,
                      label: str = "teacher embeddings") -> np.ndarray:
    """Return the embeddings of ``sentences``, computing only the chunks not yet on disk (this rank's share of
    them under torchrun); ``label`` names the pass in the log and the progress bar."""
    if not sentences:
        raise ValueError("no sentences to embed")
    folder = cache_dir / "teacher" / key.digest()
    if (folder / "meta.json").exists():
        log.info("%s: reusing cache %s", label, folder)
        return _open_finished(folder, key)
    plan = ChunkPlan(folder, len(sentences), chunk_size, lambda c: _chunk_path(folder, c))
    mine = plan.start(label)
    (folder / "chunks").mkdir(exist_ok=True)
    bar = progress_bar(total=plan.texts_in(mine), desc=label, enabled=show_progress)
    for chunk in mine:
        start, stop = plan.bounds(chunk)
        write_npy_atomic(_chunk_path(folder, chunk), np.asarray(encode(list(sentences[start:stop])), key.dtype))
        crash_point("teacher-chunk")
        bar.update(stop - start)
    bar.close()
    plan.finish(lambda: _assemble(folder, plan, key))
    return _open_finished(folder, key)


def _assemble(folder: Path, plan: ChunkPlan, key: CacheKey) -> None:
    """Rank 0: the chunk files into one raw array, then ``meta.json``; the chunks go once it is written."""
    first = np.load(_chunk_path(folder, 0), mmap_mode="r", allow_pickle=False)
    shape = (plan.texts, int(first.shape[1]))
    data_path = _data_path(folder, key)
    tmp = data_path.with_name(f".{data_path.name}.tmp")
    array = np.memmap(tmp, dtype=key.dtype, mode="w+", shape=shape)
    for chunk in range(plan.chunks):
        start, stop = plan.bounds(chunk)
        array[start:stop] = np.load(_chunk_path(folder, chunk), allow_pickle=False)
    array.flush()
    del array
    os.replace(tmp, data_path)
    write_json_atomic(folder / "meta.json", {"shape": list(shape), "key": key.__dict__, "chunk_size": plan.size})
    shutil.rmtree(folder / "chunks", ignore_errors=True)


def teacher_embeddings(model: SentenceTransformer, sentences: Sequence[str], corpus_fingerprint: str,
                       cache_dir: Path, batch_size: int = 64, chunk_size: int = 2048,
                       show_progress: bool = True, precision: Precision = Precision.FP32,
                       dtype: CacheDtype = CacheDtype.FLOAT32,
                       runtime: TeacherRuntime = TeacherRuntime.TORCH,
                       label: str = "teacher embeddings") -> np.ndarray:
    """Embed ``sentences`` with the teacher through the cache (``precision``: fp32, bf16 or auto; ``dtype``: as
    stored; ``runtime``: torch or onnxruntime, resolved by the caller:
    ``compress.distill.teacher_runtime.resolve_runtime``).
    Any frozen model's pass goes the same way (``label`` names it): the key hashes the model's weights."""
    device_type = model.device.type
    precision = resolve(precision, device_type)
    weights = weights_fingerprint(model)
    key = teacher_key(model, corpus_fingerprint, precision, dtype, runtime, weights)
    encode = torch_encoder(model, precision, batch_size)  # not called when the cache is finished
    if runtime.on_onnxruntime and not is_finished(key, cache_dir):
        encode, resolved = teacher_encoder(model, weights, precision, batch_size, runtime, cache_dir,
                                           sentences[:PARITY_TEXTS])
        if resolved is not runtime:  # the export failed or its vectors are not PyTorch's: said in the log
            key = teacher_key(model, corpus_fingerprint, precision, dtype, resolved, weights)
    log.info("%s: %s on %s (%s)", label, precision.value, device_type, key.runtime)
    return cached_embeddings(sentences, encode, key, cache_dir, chunk_size, show_progress, label)


def teacher_encoder(model: SentenceTransformer, weights: str, precision: Precision, batch_size: int,
                    runtime: TeacherRuntime, cache_dir: Path, probe: Sequence[str]) -> tuple[EncodeFn, TeacherRuntime]:
    """The encode function the cache runs the teacher with, and the runtime it resolved to: onnxruntime where
    ``runtime`` asks for it and its vectors match PyTorch's on ``probe`` (``weights``: ``weights_fingerprint``,
    which names the exported graph), PyTorch otherwise."""
    if runtime.on_onnxruntime:
        encode = onnx_encoder(model, weights, cache_dir, batch_size, list(probe),
                              int8=runtime is TeacherRuntime.ONNXRUNTIME_INT8)
        if encode is not None:
            return encode, runtime
    return torch_encoder(model, precision, batch_size), TeacherRuntime.TORCH


def torch_encoder(model: SentenceTransformer, precision: Precision, batch_size: int) -> EncodeFn:
    """The teacher's PyTorch encode function as the cache runs it: autocast at ``precision`` (resolved here), float32
    rows out."""
    device_type = model.device.type
    precision = resolve(precision, device_type)

    def encode(batch: list[str]) -> np.ndarray:
        with autocast(precision, device_type):
            vectors = model.encode(batch, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)
        return vectors.float().cpu().numpy()
    return encode
