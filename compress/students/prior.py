"""The pretrained student's own embeddings of the training texts, for ``loss.keep``: the model as published (every
layer, its own pooling and normalization, before any cut or projection), one pass before training.

The pass goes through the embedding cache like the teacher's (the same runtime, precision, batch and chunk settings;
the key hashes the published model's weights and the texts), so a resumed or repeated run reads it back instead of
embedding again, and under torchrun every rank embeds its share of the chunks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from compress.cache import teacher_embeddings
from compress.config import CacheDtype, Config
from compress.data import texts_fingerprint
from compress.models import load_sentence_transformer
from compress.precision import resolve
from compress.teacher_onnx import resolve_runtime

log = logging.getLogger(__name__)


def prior_embeddings(config: Config, texts: list[str]) -> np.ndarray:
    """Unit rows, one per text, float32."""
    start = time.perf_counter()
    t = config.teacher
    model = load_sentence_transformer(config.student.model, config.train.device, t.trust_remote_code)
    device = model.device.type
    vectors = np.asarray(teacher_embeddings(
        model, texts, texts_fingerprint(texts), Path(config.output.cache_dir), t.batch_size, t.chunk_size,
        config.output.progress, resolve(t.precision, device), CacheDtype.FLOAT32,
        resolve_runtime(t.runtime, t.precision, device), label="prior embeddings"), dtype=np.float32)
    log.info("loss.keep: %s's embeddings of %d training texts in %.0f s", config.student.model, len(texts),
             time.perf_counter() - start)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
