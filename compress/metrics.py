"""Accuracy metrics shared by training, reports and benchmarks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compress.data.sts import StsPairs

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def normalized(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (n, dim) arrays."""
    return np.asarray((normalized(a) * normalized(b)).sum(axis=1))


def cosine_summary(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and 5th-percentile row-wise cosine of two (n, dim) arrays."""
    cos = cosines(a, b)
    return float(cos.mean()), float(np.percentile(cos, 5))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def sts_spearman_from_embeddings(emb1: np.ndarray, emb2: np.ndarray, pairs: StsPairs) -> float:
    """Spearman correlation (x100) of cosine similarity with the gold scores."""
    return 100 * spearman(cosines(emb1, emb2), np.asarray(pairs.scores))


STS_BATCH = 64


def sts_spearman(model: SentenceTransformer, pairs: StsPairs, batch_size: int = STS_BATCH) -> float:
    emb1 = model.encode(pairs.sentences1, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    emb2 = model.encode(pairs.sentences2, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return sts_spearman_from_embeddings(emb1, emb2, pairs)


def fidelity(student: np.ndarray, teacher: np.ndarray) -> dict[str, float]:
    """MSE and mean / 5th-percentile cosine of student to teacher embeddings (same dimension)."""
    mean, p5 = cosine_summary(student, teacher)
    return {"mse": float(((student - teacher) ** 2).mean()), "cosine": mean, "cosine_p5": p5}
