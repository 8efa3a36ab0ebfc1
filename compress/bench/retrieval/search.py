"""Top-k search of query embeddings in a document collection, behind one interface.

``exact``: numpy, every query against every document, in query batches x document chunks so that memory stays
bounded by ``QUERY_BATCH x DOC_CHUNK`` scores however large the collection (the documents may be a memory-mapped
array on disk). Ties in the score go to the document earlier in the collection, so a run is deterministic.

``hnsw``: faiss's ``IndexHNSWFlat`` (inner product), for collections too large to scan per query. faiss rather
than hnswlib: it is maintained (hnswlib's last release is from 2023), ships wheels for x86-64 and arm64, and
offers exact flat, HNSW and compressed (IVF-PQ) indexes behind one API should a collection outgrow memory. HNSW
is approximate: results record which search produced them. ``auto``: exact up to ``EXACT_MAX_DOCS`` documents.
"""

from __future__ import annotations

import numpy as np

from compress import metrics
from compress.config import SearchKind
from compress.errors import CompressError

QUERY_BATCH = 256
DOC_CHUNK = 65536
EXACT_MAX_DOCS = 2_000_000
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 200


def normalized(x: np.ndarray) -> np.ndarray:
    """Float32 unit rows (``compress.metrics.normalized``)."""
    return metrics.normalized(np.asarray(x, dtype=np.float32))


def resolve_kind(kind: SearchKind, n_docs: int) -> SearchKind:
    if kind is SearchKind.AUTO:
        return SearchKind.EXACT if n_docs <= EXACT_MAX_DOCS else SearchKind.HNSW
    return kind


Best = tuple[np.ndarray, np.ndarray]  # document indices, scores


def _merge(best: Best, scores: np.ndarray, offset: int, k: int) -> Best:
    """The best ``k`` of one query's current best and one chunk's scores (ties: the lower document index)."""
    if scores.size > k:
        threshold = np.partition(scores, scores.size - k)[scores.size - k]
        candidates = np.flatnonzero(scores >= threshold)  # every tie at the threshold stays a candidate
    else:
        candidates = np.arange(scores.size)
    index = np.concatenate([best[0], candidates + offset])
    value = np.concatenate([best[1], scores[candidates]])
    order = np.lexsort((index, -value))[:k]
    return index[order], value[order]


def exact_top_k(queries: np.ndarray, docs: np.ndarray, k: int, cosine: bool = True) -> np.ndarray:
    """Document indices (n_queries, min(k, n_docs)), best first."""
    k = min(k, len(docs))
    out = np.zeros((len(queries), k), dtype=np.int64)
    for q0 in range(0, len(queries), QUERY_BATCH):
        block = normalized(queries[q0:q0 + QUERY_BATCH]) if cosine else np.asarray(queries[q0:q0 + QUERY_BATCH],
                                                                                    np.float32)
        best = [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in range(len(block))]
        for d0 in range(0, len(docs), DOC_CHUNK):
            chunk = docs[d0:d0 + DOC_CHUNK]
            scores = block @ (normalized(chunk) if cosine else np.asarray(chunk, np.float32)).T
            best = [_merge(best[r], scores[r], d0, k) for r in range(len(block))]
        out[q0:q0 + len(block)] = np.stack([b[0] for b in best])
    return out


def hnsw_top_k(queries: np.ndarray, docs: np.ndarray, k: int, cosine: bool = True) -> np.ndarray:
    try:
        import faiss
    except ImportError:
        raise CompressError("approximate search needs faiss", "pip install faiss-cpu (or the [retrieval] extra), "
                            "or set bench.retrieval_search = \"exact\"") from None
    k = min(k, len(docs))
    index = faiss.IndexHNSWFlat(docs.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for d0 in range(0, len(docs), DOC_CHUNK):
        chunk = docs[d0:d0 + DOC_CHUNK]
        index.add(normalized(chunk) if cosine else np.ascontiguousarray(chunk, np.float32))
    index.hnsw.efSearch = max(2 * k, 256)
    found = [index.search(normalized(queries[q0:q0 + QUERY_BATCH]) if cosine
                          else np.ascontiguousarray(queries[q0:q0 + QUERY_BATCH], np.float32), k)[1]
             for q0 in range(0, len(queries), QUERY_BATCH)]
    return np.concatenate(found).astype(np.int64)


def top_k(queries: np.ndarray, docs: np.ndarray, k: int, kind: SearchKind = SearchKind.AUTO,
          cosine: bool = True) -> tuple[np.ndarray, SearchKind]:
    """The ``k`` most similar documents of each query (cosine, or the raw inner product) and the search used."""
    used = resolve_kind(kind, len(docs))
    search = exact_top_k if used is SearchKind.EXACT else hnsw_top_k
    return search(queries, docs, k, cosine), used
