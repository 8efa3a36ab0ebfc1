"""Validation while training: fidelity to the teacher on held-back sentences (and query-shaped texts), and STS dev
Spearman."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sentence_transformers.evaluation import SentenceEvaluator

from compress.data.sts import StsPairs
from compress.metrics import fidelity, sts_spearman

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class DistillEvaluator(SentenceEvaluator):
    def __init__(self, sentences: list[str], targets: np.ndarray, sts_dev: StsPairs | None,
                 primary: str = "cosine", batch_size: int = 64, name: str = "distill",
                 queries: tuple[list[str], np.ndarray] | None = None) -> None:
        """``queries``: held-back query-shaped texts and their targets (``query_cosine``)."""
        super().__init__()
        self.queries = queries
        self.sentences = sentences
        self.targets = np.asarray(targets)
        self.sts_dev = sts_dev
        self.batch_size = batch_size
        self.name = name
        self.primary_metric = primary
        self.greater_is_better = primary != "mse"

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1,
                 steps: int = -1) -> dict[str, Any]:
        metrics: dict[str, float] = {}
        if self.sentences:
            emb = model.encode(self.sentences, batch_size=self.batch_size, convert_to_numpy=True,
                               show_progress_bar=False)
            found = fidelity(emb, self.targets)
            metrics["mse"], metrics["cosine"] = found["mse"], found["cosine"]
        if self.queries is not None and self.queries[0]:
            emb = model.encode(self.queries[0], batch_size=self.batch_size, convert_to_numpy=True,
                               show_progress_bar=False)
            metrics["query_cosine"] = fidelity(emb, np.asarray(self.queries[1]))["cosine"]
        if self.sts_dev is not None:
            metrics["sts_dev_spearman"] = sts_spearman(model, self.sts_dev, self.batch_size)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics
