"""The pretrained student's own embeddings of the training texts, for ``loss.keep``: the model as published (every
layer, its own pooling and normalization, before any cut or projection), one pass before training.

The pass goes through the embedding cache like the teacher's (the same runtime, precision, batch and chunk settings;
the key hashes the published model's weights and the texts), so a resumed or repeated run reads it back instead of
embedding again, and under torchrun every rank embeds its share of the chunks.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from compress.config import CacheDtype, Config
from compress.data import texts_fingerprint
from compress.distill.targets import frozen_embeddings
from compress.metrics import normalized
from compress.models import load_sentence_transformer

log = logging.getLogger(__name__)


def prior_embeddings(config: Config, texts: list[str]) -> np.ndarray:
    """Unit rows, one per text, float32."""
    start = time.perf_counter()
    model = load_sentence_transformer(config.student.model, config.train.device, config.teacher.trust_remote_code)
    vectors = frozen_embeddings(model, texts, texts_fingerprint(texts), config, CacheDtype.FLOAT32,
                                label="prior embeddings")
    log.info("loss.keep: %s's embeddings of %d training texts in %.0f s", config.student.model, len(texts),
             time.perf_counter() - start)
    return normalized(vectors)
