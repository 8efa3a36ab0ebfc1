"""Sentence embeddings from an artifact's ONNX file with onnxruntime and the Rust tokenizer (no torch).

A static-embedding artifact's graph is a lookup, a mean and a small matmul: spreading it over several
onnxruntime threads only adds synchronization, and the tokenizer (most of the time at batch 32) already uses
every core (on 2 cores one thread gave 17-23k sentences/s at batch 32 against 11-18k for two), so it runs one
thread unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from compress.errors import CompressError
from export.artifact.layout import OUTPUT, TOKENIZER, is_static, pad_token

STATIC_THREADS = 1  # intra-op threads for a static-embedding graph unless the caller says otherwise


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity (taskset, a container's cpuset), not the machine's count."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _affinity_threads() -> int | None:
    """One thread per allowed core when the process may not use them all, else None (onnxruntime's default).
    onnxruntime's default pool starts a worker per core of the machine and pins each one to its core, so a
    process limited to core 0 would run on core 1 as well."""
    import os

    allowed = usable_cores()
    return allowed if allowed < (os.cpu_count() or allowed) else None


def intra_op_threads(folder: Path, requested: int | None, fallback: int | None = None) -> int | None:
    """``requested``, else one thread for a static-embedding artifact, else ``fallback``, else one per core this
    process may use when that is fewer than the machine's (else None: onnxruntime's default)."""
    return requested or (STATIC_THREADS if is_static(folder) else fallback or _affinity_threads())


def session_options(threads: int | None, spin: bool = True) -> Any:
    """onnxruntime session options with ``threads`` intra-op threads, else one per core this process may use when
    it may not use them all (else onnxruntime's default). ``spin`` False: idle intra-op threads sleep instead of
    spinning for the next run, leaving the cores to a server's own work between runs (``serve``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if count := threads or _affinity_threads():
        options.intra_op_num_threads = count
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


# Batches are padded to a multiple of this many tokens on these machine types. onnxruntime's arm64 float kernels
# round a row of attention scores differently with its length (most likely: their NEON loops run the last length
# mod 4 elements apart, where x86's AVX512 kernels mask them), so a text padded to another length in a batch can
# move a row-wise int8 file's activations across a rounding step. Measured on the default student's arm64 row-wise
# file in onnxruntime's aarch64 build (emulated Neoverse-N1), min cosine batch 1 vs 32 on 64 corpus sentences:
# 0.99985 unpadded, 0.9999999 at a multiple of 4 or 8. On x86 the vectors are the same unpadded (1.000000).
PAD_MULTIPLE = {"aarch64": 4, "arm64": 4}


def pad_multiple(max_length: int, machine: str | None = None) -> int | None:
    """The token multiple this host pads batches to (``PAD_MULTIPLE``; ``machine``: another's type), when the
    model's ``max_length`` is one of its multiples (else padding could pass the model's positions): else None."""
    import platform

    multiple = PAD_MULTIPLE.get((machine or platform.machine()).lower())
    return multiple if multiple and max_length % multiple == 0 else None


def artifact_tokenizer(folder: Path, max_length: int) -> Any:
    """The artifact's Rust tokenizer, truncating at ``max_length`` and padding with the model's pad token (to a
    multiple of ``pad_multiple`` tokens on hosts that need it for batch invariance)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
    tokenizer.enable_truncation(max_length)
    pad = pad_token(folder)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad,
                             pad_to_multiple_of=pad_multiple(max_length))
    return tokenizer


class TextEncoder:
    """Tokenize, run one graph per batch, return its ``sentence_embedding``; runtimes implement ``run``."""

    runtime = ""
    inputs: set[str]
    tokenizer: Any
    max_length: int
    threads: int | None

    def feeds(self, sentences: list[str]) -> dict[str, np.ndarray]:
        # encode_batch_fast: the same ids without character offsets (measured 5-13% faster), as model2vec calls it
        encodings = self.tokenizer.encode_batch_fast(sentences)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        return feeds

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def output_dim(self) -> int | None:
        """The embedding width the graph declares (None when it is dynamic)."""
        raise NotImplementedError

    def feed_batches(self, sentences: list[str], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
        """The graph's inputs for ``sentences`` in consecutive batches of ``batch_size``, tokenized as they go."""
        for start in range(0, len(sentences), batch_size):
            yield self.feeds(sentences[start:start + batch_size])

    def encode(self, sentences: list[str], batch_size: int = 32) -> np.ndarray:
        out = [self.run(feeds) for feeds in self.feed_batches(sentences, batch_size)]
        return np.concatenate(out, axis=0).astype(np.float32)


class OnnxEncoder(TextEncoder):
    runtime = "onnxruntime"

    def __init__(self, model_path: Path, tokenizer_dir: Path, max_length: int, threads: int | None = None,
                 fallback: int | None = None, spin: bool = True) -> None:
        """``threads``/``fallback``: see ``intra_op_threads`` (``tokenizer_dir`` is the artifact folder); ``spin``:
        see ``session_options``."""
        import onnxruntime as ort

        self.threads, self.max_length = intra_op_threads(tokenizer_dir, threads, fallback), max_length
        try:
            self.session = ort.InferenceSession(str(model_path), session_options(self.threads, spin),
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a corrupt file
            raise CompressError(f"{model_path} is not a loadable ONNX model: {exc}",
                                "re-export it (compress export)") from None
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = artifact_tokenizer(tokenizer_dir, max_length)

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run([OUTPUT], feeds)[0]

    def output_dim(self) -> int | None:
        shape = next(o.shape for o in self.session.get_outputs() if o.name == OUTPUT)
        return shape[-1] if isinstance(shape[-1], int) else None
