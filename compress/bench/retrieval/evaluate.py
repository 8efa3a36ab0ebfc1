"""Retrieval scores of benchmark entries from their cached embeddings, against the teacher's, and the index
compatibility of each student with the teacher's document index.

Per entry and set: ``retrieval[set]`` = nDCG@10, recall@100, MRR@10 (x100) of its queries against its own
documents, and ``retention_percent`` (its nDCG@10, % of the teacher's). For a student whose embeddings have the
teacher's dimension, ``index[set]`` scores its queries against the teacher's documents (the swap a user makes when
only the query encoder changes) with its retention vs teacher->teacher, and the mean cosine between the student's
and the teacher's embeddings of the same documents and queries; else ``index[set]`` says why it is not there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.retrieval.cache import Encoded, encoded_paths, model_fingerprint
from compress.bench.retrieval.metrics import METRICS, RECALL_K, evaluate
from compress.bench.retrieval.search import DOC_CHUNK, top_k
from compress.config import Precision, SearchKind
from compress.data.beir import RetrievalSet
from compress.metrics import cosines
from export.artifact.prompts import InputType, Prompts

log = logging.getLogger(__name__)
NDCG = METRICS[0]


@dataclass(frozen=True)
class RetrievalData:
    sets: list[RetrievalSet] = field(default_factory=list)
    cache_dir: Path | None = None  # <cache_dir>/embeddings; None: a scratch folder per run
    search: SearchKind = SearchKind.AUTO
    # PyTorch models embed the sets under this precision (teacher.precision: bf16 autocast where native, as the
    # distillation teacher; documents are the costly part)
    precision: Precision = Precision.FP32


def torch_precision(kind: str, data: RetrievalData) -> Precision:
    from compress.precision import resolve

    return resolve(data.precision, "cpu") if kind == "torch" else Precision.FP32


def plan(path: str, file: str | None, kind: str, prompts: Prompts, data: RetrievalData,
         scratch: Path) -> dict[str, Encoded]:
    """Where each set's embeddings of one model file are cached (or go, in ``scratch``)."""
    fingerprint = model_fingerprint(path, file) if data.cache_dir is not None else None
    folder = data.cache_dir / "embeddings" if data.cache_dir is not None and fingerprint else scratch
    folder.mkdir(parents=True, exist_ok=True)
    precision = torch_precision(kind, data)
    return {s.name: encoded_paths(fingerprint, s, prompts, folder, precision) for s in data.sets}


def encode_requests(planned: dict[str, Encoded], data: RetrievalData, prompts: Prompts,
                    kind: str) -> list[dict[str, Any]]:
    """The worker's ``encode`` list: the texts (prompts applied) whose embeddings are not cached yet."""
    requests = []
    for rset in data.sets:
        for side, path in planned[rset.name].missing():
            texts = rset.queries if side is InputType.QUERY else rset.docs
            requests.append({"texts": prompts.apply(texts, side), "out": str(path),
                             "what": f"{rset.name} {'queries' if side is InputType.QUERY else 'documents'}",
                             "precision": torch_precision(kind, data).value})
    return requests


def load(encoded: Encoded) -> tuple[np.ndarray, np.ndarray]:
    return np.load(encoded.queries, mmap_mode="r"), np.load(encoded.docs, mmap_mode="r")


def score(queries: np.ndarray, docs: np.ndarray, rset: RetrievalSet, search: SearchKind,
          cosine: bool = True) -> dict[str, Any]:
    """nDCG@10, recall@100, MRR@10 of ``queries`` (rows in ``rset.query_ids`` order) against ``docs``."""
    found, used = top_k(queries, docs, RECALL_K, search, cosine)
    run = {q: [rset.doc_ids[d] for d in row] for q, row in zip(rset.query_ids, found, strict=True)}
    return {**evaluate(run, rset.qrels), "search": used.value}


def _retention(value: float, reference: float | None) -> float | None:
    return 100 * value / reference if reference else None


def _index(student: Encoded, teacher: Encoded, rset: RetrievalSet, search: SearchKind, reference: float | None,
           cosine: bool) -> dict[str, Any]:
    s_queries, s_docs = load(student)
    t_queries, t_docs = load(teacher)
    if s_docs.shape[1] != t_docs.shape[1]:
        return {"error": f"dims differ: the student's {s_docs.shape[1]} vs the teacher's {t_docs.shape[1]}"}
    swapped = score(s_queries, t_docs, rset, search, cosine)
    return {**swapped, "retention_percent": _retention(swapped[NDCG], reference),
            "doc_cosine": mean_cosine(s_docs, t_docs), "query_cosine": mean_cosine(s_queries, t_queries)}


def mean_cosine(a: np.ndarray, b: np.ndarray, chunk: int = DOC_CHUNK) -> float:
    """Mean row-wise cosine of two (possibly memory-mapped) arrays, a chunk of rows at a time."""
    total = sum(float(cosines(np.asarray(a[i:i + chunk]), np.asarray(b[i:i + chunk])).sum())
                for i in range(0, len(a), chunk))
    return total / max(len(a), 1)


def add_retrieval(entries: list[dict[str, Any]], encoded: dict[int, dict[str, Encoded]], teacher_label: str | None,
                  data: RetrievalData, cosine: dict[int, bool]) -> None:
    """Fill ``retrieval`` (and, beside a teacher, ``index``) of every entry in ``encoded`` (entry -> set ->
    embeddings). ``cosine``: per entry, whether its model ranks by cosine (else by the raw inner product)."""
    t_index = next((i for i in encoded if entries[i]["model"] == teacher_label), None)
    for i in sorted(encoded, key=lambda j: j != t_index):  # the teacher first: its scores are the reference
        planned, entry = encoded[i], entries[i]
        entry["retrieval"], index = {}, {}
        for rset in data.sets:
            result = score(*load(planned[rset.name]), rset, data.search, cosine[i])
            reference = (entries[t_index]["retrieval"][rset.name][NDCG]
                         if t_index is not None and i != t_index else None)
            if t_index is not None and i != t_index:
                result["retention_percent"] = _retention(result[NDCG], reference)
                index[rset.name] = _index(planned[rset.name], encoded[t_index][rset.name], rset, data.search,
                                          reference, cosine[t_index])
            entry["retrieval"][rset.name] = result
        if index:
            entry["index"] = index
    if t_index is None and encoded:
        log.info("no teacher measured: retrieval has no retention and no index compatibility")

