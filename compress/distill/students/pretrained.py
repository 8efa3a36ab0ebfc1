"""A small pretrained encoder matched to the teacher by a learned linear projection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def fit_linear_map(inputs: np.ndarray, targets: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``W, b`` with ``inputs @ W.T + b ~= targets`` (ridge-regularized)."""
    x = np.concatenate([inputs, np.ones((len(inputs), 1), dtype=inputs.dtype)], axis=1).astype(np.float64)
    gram = x.T @ x + ridge * np.eye(x.shape[1])
    solution = np.linalg.solve(gram, x.T @ targets.astype(np.float64))
    return solution[:-1].T.astype(np.float32), solution[-1].astype(np.float32)


def add_projection(student: SentenceTransformer, sentences: list[str], targets: np.ndarray,
                   normalize: bool) -> SentenceTransformer:
    """Put a Dense layer (student dim -> teacher dim) after pooling, initialized by least squares.

    A random projection destroys what the pretrained encoder knows; the least-squares fit on a sample of
    (student embedding, teacher embedding) pairs starts the student close to the teacher instead.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Normalize

    modules = [m for m in student if type(m).__name__ != "Normalize"]
    base = SentenceTransformer(modules=modules, device=str(student.device))
    pooled = base.encode(sentences, convert_to_numpy=True, show_progress_bar=False, batch_size=64)
    weight, bias = fit_linear_map(pooled, targets)
    dense = Dense(pooled.shape[1], targets.shape[1], bias=True, activation_function=torch.nn.Identity())
    with torch.no_grad():
        dense.linear.weight.copy_(torch.from_numpy(weight))
        dense.linear.bias.copy_(torch.from_numpy(bias))
    tail = [dense, Normalize()] if normalize else [dense]
    return SentenceTransformer(modules=[*modules, *tail], device=str(student.device))
