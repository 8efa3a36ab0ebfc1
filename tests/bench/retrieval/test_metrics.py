"""nDCG@10, recall@100 and MRR@10 against values worked out by hand; exact and faiss search; ties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compress.bench.retrieval import search
from compress.bench.retrieval.metrics import evaluate, ndcg, recall, reciprocal_rank
from compress.bench.retrieval.search import exact_top_k, hnsw_top_k, top_k
from compress.config import SearchKind

# q1: graded judgments (d3 judged not relevant); q2: binary
QRELS = {"q1": {"d1": 2, "d2": 1, "d3": 0}, "q2": {"d5": 1, "d6": 1}}
RUN = {"q1": ["d3", "d1", "d4", "d2"], "q2": ["d6", "d7", "d5"]}


def test_ndcg_with_graded_judgments_uses_the_grade_as_gain() -> None:
    # DCG: d3 (0) at 1, d1 (2) at 2, d4 (unjudged) at 3, d2 (1) at 4; ideal: d1 (2), d2 (1)
    expected = (2 / math.log2(3) + 1 / math.log2(5)) / (2 / math.log2(2) + 1 / math.log2(3))
    assert ndcg(RUN["q1"], QRELS["q1"], 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.643322, abs=1e-6)


def test_ndcg_with_binary_judgments() -> None:
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg(RUN["q2"], QRELS["q2"], 10) == pytest.approx(expected)
    assert ndcg(RUN["q2"], QRELS["q2"], 1) == pytest.approx(1.0)  # the cut: only d6, ideal 1 too


def test_recall_and_reciprocal_rank() -> None:
    assert recall(RUN["q1"], QRELS["q1"], 100) == 1.0  # d1 and d2; d3 (grade 0) is not relevant
    assert recall(RUN["q1"], QRELS["q1"], 2) == 0.5
    assert reciprocal_rank(RUN["q1"], QRELS["q1"], 10) == 0.5  # d3 is judged, but not relevant
    assert reciprocal_rank(RUN["q1"], QRELS["q1"], 1) == 0.0
    assert reciprocal_rank(RUN["q2"], QRELS["q2"], 10) == 1.0


def test_evaluate_averages_over_judged_queries_x100() -> None:
    scores = evaluate(RUN, QRELS)
    q1 = (2 / math.log2(3) + 1 / math.log2(5)) / (2 + 1 / math.log2(3))
    q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert scores["ndcg@10"] == pytest.approx(100 * (q1 + q2) / 2)
    assert scores["recall@100"] == pytest.approx(100.0)
    assert scores["mrr@10"] == pytest.approx(100 * (0.5 + 1.0) / 2)
    missing = evaluate({"q1": RUN["q1"]}, QRELS)  # q2 not in the run: it scores 0, it is not skipped
    assert missing["mrr@10"] == pytest.approx(100 * 0.5 / 2)


def test_ties_go_to_the_document_earlier_in_the_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    queries = np.array([[1.0, 0.0]], dtype=np.float32)
    docs = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    assert exact_top_k(queries, docs, 2).tolist() == [[1, 2]]  # docs 1-3 tie at cosine 1
    monkeypatch.setattr(search, "DOC_CHUNK", 2)  # the tie spans chunks: still the earlier documents
    assert exact_top_k(queries, docs, 2).tolist() == [[1, 2]]
    assert exact_top_k(queries, docs, 10).tolist() == [[1, 2, 3, 4, 0]]  # k > documents: all, ranked
    ids = ["a", "b", "c", "d", "e"]
    run = {"q": [ids[i] for i in exact_top_k(queries, docs, 2)[0]]}
    assert evaluate(run, {"q": {"d": 1}})["ndcg@10"] == 0.0  # the tied d lost its place to b and c
    assert exact_top_k(queries, docs, 1, cosine=False).tolist() == [[3]]  # dot product: the longest wins


def test_exact_search_in_chunks_equals_one_matrix_product(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    queries, docs = rng.normal(size=(37, 16)).astype(np.float32), rng.normal(size=(503, 16)).astype(np.float32)
    full = search.normalized(queries) @ search.normalized(docs).T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :20]
    monkeypatch.setattr(search, "DOC_CHUNK", 64)
    monkeypatch.setattr(search, "QUERY_BATCH", 8)
    assert np.array_equal(exact_top_k(queries, docs, 20), expected)


def test_hnsw_finds_what_exact_search_finds() -> None:
    rng = np.random.default_rng(1)
    docs = rng.normal(size=(3000, 32)).astype(np.float32)
    queries = docs[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    exact = exact_top_k(queries, docs, 10)
    approx = hnsw_top_k(queries, docs, 10)
    overlap = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert overlap > 0.95 and np.array_equal(approx[:, 0], np.arange(50))
    assert top_k(queries, docs, 10, SearchKind.AUTO)[1] is SearchKind.EXACT
    assert top_k(queries, docs, 10, SearchKind.HNSW)[1] is SearchKind.HNSW


def test_metrics_agree_with_sentence_transformers_evaluator(tiny_teacher) -> None:
    """Binary judgments, a real (tiny) model: our scores equal InformationRetrievalEvaluator's."""
    from sentence_transformers.evaluation import InformationRetrievalEvaluator

    from compress.bench.retrieval.evaluate import score
    from compress.data.beir import RetrievalSet
    from tests.conftest import make_sentences

    docs, queries = make_sentences(80, seed=11), make_sentences(10, seed=12)
    rng = np.random.default_rng(2)
    qrels = {f"q{i}": {f"d{j}": 1 for j in rng.choice(80, size=4, replace=False)} for i in range(10)}
    rset = RetrievalSet("toy", "", [f"d{j}" for j in range(80)], docs, list(qrels), queries, qrels)
    ours = score(tiny_teacher.encode(queries), tiny_teacher.encode(docs), rset, SearchKind.EXACT)
    evaluator = InformationRetrievalEvaluator(
        dict(zip(qrels, queries, strict=True)), {f"d{j}": d for j, d in enumerate(docs)},
        {q: set(v) for q, v in qrels.items()}, mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1],
        precision_recall_at_k=[100], map_at_k=[10], show_progress_bar=False, name="toy")
    theirs = evaluator(tiny_teacher)
    assert ours["ndcg@10"] == pytest.approx(100 * theirs["toy_cosine_ndcg@10"], abs=1e-4)
    assert ours["mrr@10"] == pytest.approx(100 * theirs["toy_cosine_mrr@10"], abs=1e-4)
    assert ours["recall@100"] == pytest.approx(100 * theirs["toy_cosine_recall@100"], abs=1e-4)
