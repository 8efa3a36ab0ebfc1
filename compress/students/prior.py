"""The pretrained student's own embeddings of the training texts, for ``loss.keep``: the model as published (every
layer, its own pooling and normalization, before any cut or projection), one pass before training."""

from __future__ import annotations

import logging
import time

import numpy as np

from compress.config import Config
from compress.models import load_sentence_transformer

log = logging.getLogger(__name__)


def prior_embeddings(config: Config, texts: list[str]) -> np.ndarray:
    start = time.perf_counter()
    model = load_sentence_transformer(config.student.model, config.train.device, config.teacher.trust_remote_code)
    vectors = model.encode(texts, batch_size=config.train.batch_size, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=config.output.progress)
    log.info("loss.keep: %s embedded %d training texts in %.0f s", config.student.model, len(texts),
             time.perf_counter() - start)
    return np.asarray(vectors, dtype=np.float32)
