"""PCA of the teacher's embeddings, to match a smaller student dimension; saved with the student."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE_NAME = "pca.safetensors"


@dataclass(frozen=True)
class Pca:
    mean: np.ndarray  # (teacher_dim,)
    components: np.ndarray  # (dim, teacher_dim)
    explained_variance_ratio: float

    @classmethod
    def fit(cls, data: np.ndarray, dim: int) -> Pca:
        if dim > min(data.shape):
            raise ValueError(f"PCA to {dim} dims needs at least {dim} samples and features, got {data.shape}")
        mean = data.mean(axis=0)
        centered = data - mean
        _, singular, vt = np.linalg.svd(centered, full_matrices=False)
        ratio = float((singular[:dim] ** 2).sum() / (singular**2).sum())
        return cls(mean.astype(np.float32), vt[:dim].astype(np.float32), ratio)

    def transform(self, data: np.ndarray, normalize: bool = False) -> np.ndarray:
        reduced = (np.asarray(data, dtype=np.float32) - self.mean) @ self.components.T
        if normalize:
            reduced /= np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
        return reduced.astype(np.float32)

    def save(self, folder: Path) -> Path:
        from safetensors.numpy import save_file

        path = folder / FILE_NAME
        save_file({"mean": self.mean, "components": self.components}, str(path),
                  metadata={"explained_variance_ratio": str(self.explained_variance_ratio)})
        return path

    @classmethod
    def load(cls, folder: Path) -> Pca:
        from safetensors import safe_open

        with safe_open(str(folder / FILE_NAME), framework="numpy") as f:
            ratio = float((f.metadata() or {}).get("explained_variance_ratio", "nan"))
            return cls(f.get_tensor("mean"), f.get_tensor("components"), ratio)
