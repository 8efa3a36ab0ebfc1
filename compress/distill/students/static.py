"""A static-embedding student (Model2Vec): one vector per token, averaged; no transformer layers at all.

The ``model2vec`` package distills the vectors from the teacher (each vocabulary token through the teacher, PCA,
Zipf weighting); the result becomes a sentence-transformers ``StaticEmbedding`` so that the same trainer then
fine-tunes it on the teacher's cached sentence embeddings, like any other student.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from compress.models import backbone

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


def static_from_teacher(teacher: SentenceTransformer, dims: int) -> SentenceTransformer:
    """Model2Vec-distill ``teacher`` into ``StaticEmbedding`` + ``Normalize`` (``dims``: PCA dimensions)."""
    from model2vec.distill import distill_from_model
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding

    module: Any = teacher[0]
    dims = min(dims, int(backbone(teacher).config.hidden_size))
    distilled = distill_from_model(model=module.auto_model, tokenizer=module.tokenizer, pca_dims=dims,
                                   device=str(teacher.device), quantize_to="float32")
    vectors = distilled.embedding
    if distilled.token_mapping is not None:
        vectors = vectors[distilled.token_mapping]
    if distilled.weights is not None:
        vectors = vectors * distilled.weights[:, None]
    log.info("model2vec: %d token vectors of %d dimensions", vectors.shape[0], vectors.shape[1])
    embedding = StaticEmbedding(distilled.tokenizer, embedding_weights=vectors)
    return SentenceTransformer(modules=[embedding, Normalize()], device=str(teacher.device))
