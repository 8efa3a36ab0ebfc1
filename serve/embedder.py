"""``Embedder``: encode with an exported artifact using onnxruntime, tokenizers and numpy only (no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from compress.errors import CompressError
from export.manifest import MANIFEST, verify
from export.ort_encoder import OnnxEncoder, intra_op_threads, max_length_of, usable_cores
from serve.host import host_target, preference


def default_threads() -> int:
    """Small devices: the cores this process may use (a container's cpuset counts, not the host's cores), up to
    4 (more rarely helps batch-1 latency and starves the server)."""
    return max(1, min(4, usable_cores()))


class Embedder:
    def __init__(self, artifact_dir: Path | str, target: str = "auto", threads: int | None = None,
                 verify_checksums: bool = True) -> None:
        self.artifact_dir = Path(artifact_dir)
        if not (self.artifact_dir / MANIFEST).exists():
            raise CompressError(f"{self.artifact_dir} has no {MANIFEST}", "pass a folder written by compress export")
        if verify_checksums and (bad := verify(self.artifact_dir)):
            raise CompressError(f"{self.artifact_dir}: checksum mismatch in {', '.join(bad)}; refusing to load",
                                "restore the artifact from its source, or re-export it")
        self.file = self._choose(target)
        self.max_length = max_length_of(self.artifact_dir)
        self.threads = intra_op_threads(self.artifact_dir, threads, default_threads())
        self.encoder = OnnxEncoder(self.artifact_dir / self.file, self.artifact_dir, self.max_length, self.threads)
        self.dim = int(self.encoder.session.get_outputs()[1].shape[-1] or self.encode(["x"]).shape[1])

    def _choose(self, target: str) -> str:
        if target == "auto":
            chosen = next((f for f in preference(host_target()) if (self.artifact_dir / f).exists()), None)
        elif target == "fp32":
            chosen = next((f for f in preference(None) if (self.artifact_dir / f).exists()), None)
        else:
            chosen = f"onnx/model_qint8_{target}.onnx"
            if not (self.artifact_dir / chosen).exists():
                raise CompressError(f"{self.artifact_dir} has no file for target {target!r} ({chosen})",
                                    "use target='auto', 'fp32' or one the artifact was exported for")
        if chosen is None:
            raise CompressError(f"{self.artifact_dir} holds no ONNX model", "re-export it with compress export")
        return chosen

    @property
    def target(self) -> str:
        name = Path(self.file).stem
        return name.removeprefix("model_qint8_") if name.startswith("model_qint8_") else "fp32"

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.encoder.tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str], batch_size: int = 32, normalize: bool = False) -> np.ndarray:
        """Embeddings in input order; batches of similar length (sorted) waste less padding."""
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
