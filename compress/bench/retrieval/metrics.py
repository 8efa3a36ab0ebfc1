"""Ranking metrics over a run (each query's ranked document ids) and judgments (query -> doc -> grade).

As trec_eval / pytrec_eval (what BEIR reports): nDCG@k with linear gain (the grade) and a log2(rank + 1) discount,
its ideal from every positively judged document of the query; recall@k of the documents with grade > 0; MRR@k:
1 / rank of the first document with grade > 0 within k, else 0. Scores are means over the queries, x100. Ties in
the similarity are broken by corpus order (``compress.bench.retrieval.search``), so a run is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Run = Mapping[str, Sequence[str]]  # query id -> doc ids, best first
Qrels = Mapping[str, Mapping[str, int]]

NDCG_K, RECALL_K, MRR_K = 10, 100, 10
METRICS = (f"ndcg@{NDCG_K}", f"recall@{RECALL_K}", f"mrr@{MRR_K}")


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))


def ndcg(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    ideal = dcg(sorted((g for g in judged.values() if g > 0), reverse=True)[:k])
    return dcg([judged.get(d, 0) for d in ranked[:k]]) / ideal if ideal > 0 else 0.0


def recall(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    return next((1.0 / (rank + 1) for rank, d in enumerate(ranked[:k]) if judged.get(d, 0) > 0), 0.0)


def evaluate(run: Run, qrels: Qrels) -> dict[str, float]:
    """The mean of each metric over the judged queries of ``qrels`` (x100); a query missing from ``run``
    scores 0."""
    queries = [q for q, judged in qrels.items() if any(g > 0 for g in judged.values())]
    if not queries:
        raise ValueError("no query has a positive judgment")
    sums = dict.fromkeys(METRICS, 0.0)
    for q in queries:
        ranked, judged = run.get(q, ()), qrels[q]
        sums[METRICS[0]] += ndcg(ranked, judged, NDCG_K)
        sums[METRICS[1]] += recall(ranked, judged, RECALL_K)
        sums[METRICS[2]] += reciprocal_rank(ranked, judged, MRR_K)
    return {m: 100 * s / len(queries) for m, s in sums.items()}
