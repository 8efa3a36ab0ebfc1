"""``Embedder``: encode with an exported artifact using onnxruntime (or OpenVINO), tokenizers and numpy only (no
torch)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from export.artifact.encoder import usable_cores
from export.artifact.layout import Runtime, target_of
from export.artifact.load import load_artifact
from export.artifact.prompts import InputType, read_prompts

log = logging.getLogger(__name__)


def default_threads() -> int:
    """Small devices: the cores this process may use (a container's cpuset counts, not the host's cores), up to
    4 (more rarely helps batch-1 latency and starves the server)."""
    return max(1, min(4, usable_cores()))


class Embedder:
    def __init__(self, artifact_dir: Path | str, target: str = "auto", threads: int | None = None,
                 verify_checksums: bool = True, runtime: str = Runtime.AUTO, file: str | None = None,
                 spin: bool = True) -> None:
        """``runtime``: "onnxruntime", "openvino" (the extra), or "auto": the one the artifact's own benchmark
        measured fastest on this ISA (``runtime_reason`` says why). ``file``: one model file of the artifact
        (one of its int8 files, say) instead of the target's. ``spin`` False: onnxruntime's idle threads sleep
        between runs (the server's setting: its HTTP work needs the cores between runs)."""
        self.artifact_dir = Path(artifact_dir)
        loaded = load_artifact(self.artifact_dir, target, threads, default_threads(), verify_checksums, runtime,
                               file, spin)
        self.file, self.encoder = loaded.file, loaded.encoder
        self.runtime, self.runtime_reason = loaded.runtime.runtime.value, loaded.runtime.reason
        self.max_length, self.threads = self.encoder.max_length, self.encoder.threads
        self.prompts = read_prompts(self.artifact_dir)  # the teacher's query/document prompts, if it had any
        self._invariant, self._invariance_floor = loaded.batch_invariant, loaded.invariance_floor
        self.dim = int(self.encoder.output_dim() or self.encode(["x"]).shape[1])

    @property
    def batch_invariant(self) -> bool:
        """Whether a text's vector is the same in any batch (else the server never batches requests together):
        the manifest's measurement from a CPU with this host's instruction set, else measured here once, on first
        use (float rounding is the CPU's kernels': another CPU's measurement says nothing here)."""
        if self._invariant is None:
            from export.artifact.invariance import measure_invariance, probe_texts

            found = measure_invariance(self.encoder.encode, probe_texts(), self._invariance_floor)
            log.info("%s: batch 1 vs %s min cosine %.6f on this host: %s", self.file,
                     "/".join(map(str, found.batch_sizes)), found.min_cosine,
                     "batch-invariant" if found.invariant else "not batch-invariant (requests run one by one)")
            self._invariant = found.invariant
        return self._invariant

    @property
    def target(self) -> str:
        return target_of(self.file)

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.encoder.tokenizer.encode_batch(texts)]

    def embed(self, texts: list[str], input_type: InputType | str | None = None, batch_size: int = 32,
              normalize: bool = False) -> np.ndarray:
        """``encode`` with the artifact's prompt for ``input_type`` ("query", "document"; none: the default
        prompt, if the model names one) put before each text, as sentence-transformers' ``encode_query`` /
        ``encode_document`` do."""
        return self.encode(self.prompts.apply(texts, input_type), batch_size, normalize)

    def encode(self, texts: list[str], batch_size: int = 32, normalize: bool = False) -> np.ndarray:
        """Embeddings of the texts as given (no prompt) in input order; batches of similar length (sorted) waste
        less padding."""
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            vectors = self.encoder.encode([texts[i] for i in index], batch_size=len(index))
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[index] = vectors
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
