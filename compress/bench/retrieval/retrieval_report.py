"""The retrieval and index-compatibility tables of bench.md and the run report."""

from __future__ import annotations

from typing import Any

from compress.bench.retrieval.metrics import METRICS

NDCG, RECALL, MRR = METRICS


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def scored(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The entries that measured ``key`` themselves (a copy on a later profile would repeat the same row)."""
    return [e for e in doc["results"] if e.get(key) and not e.get("accuracy_from")]


def _teacher(doc: dict[str, Any]) -> dict[str, Any] | None:
    return next((e for e in scored(doc, "retrieval") if e.get("teacher")), None)


def _file(e: dict[str, Any]) -> str:
    return str(e.get("file") or e.get("kind", "torch"))


def retrieval_table(doc: dict[str, Any]) -> list[str]:
    rows = scored(doc, "retrieval")
    if not rows:
        return []
    sets = doc["settings"].get("eval_sets", {}).get("retrieval", {})
    sizes = "; ".join(f"{n}: {s['docs']:,} documents, {s['queries']} queries" for n, s in sets.items())
    lines = ["", "## Retrieval", "",
             "Each model embeds the queries and the documents (title + text) of each set with its own query and "
             "document prompts, and ranks the documents by similarity (cosine, or the dot product its config "
             f"names; {sizes}). nDCG@10 (linear gain), "
             "recall@100 and MRR@10, x100, mean over the judged queries; retention: nDCG@10 as % of the "
             "teacher's. Each file is scored once (on the first profile that runs it).", "",
             "| model | file | set | nDCG@10 | recall@100 | MRR@10 | retention % | search |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for e in rows:
        for name, r in e["retrieval"].items():
            lines.append(f"| {e['model']} | {_file(e)} | {name} | {_num(r[NDCG])} | {_num(r[RECALL])} | "
                         f"{_num(r[MRR])} | {_num(r.get('retention_percent'), 1)} | {r['search']} |")
    return lines


def index_table(doc: dict[str, Any]) -> list[str]:
    rows, teacher = scored(doc, "index"), _teacher(doc)
    if not rows or teacher is None:
        return []
    lines = ["", "## Index compatibility: student queries against the teacher's document index", "",
             f"The swap a user makes when only the query encoder changes: queries embedded by the student, "
             f"documents by the teacher ({teacher['model']}). teacher->teacher and student->student are the "
             "scores above; retention is student->teacher nDCG@10 as % of teacher->teacher. Cosine: the mean "
             "cosine between the student's and the teacher's embeddings of the same documents / queries.", "",
             "| student | file | set | teacher->teacher | student->student | student->teacher | retention % | "
             "recall@100 s->t | doc cosine | query cosine |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in rows:
        for name, r in e["index"].items():
            base = f"| {e['model']} | {_file(e)} | {name} | {_num(teacher['retrieval'].get(name, {}).get(NDCG))} | " \
                   f"{_num(e['retrieval'][name][NDCG])} |"
            if "error" in r:
                lines.append(f"{base} {r['error']} | | | | |")
                continue
            lines.append(f"{base} {_num(r[NDCG])} | {_num(r.get('retention_percent'), 1)} | {_num(r[RECALL])} | "
                         f"{_num(r['doc_cosine'], 4)} | {_num(r['query_cosine'], 4)} |")
    return lines


def sts_sets_table(doc: dict[str, Any]) -> list[str]:
    rows = scored(doc, "sts_sets")
    if not rows:
        return []
    lines = ["", "## More STS sets", "", "Spearman x100 of cosine similarity with the gold scores; retention: % "
             "of the teacher's.", "", "| model | file | set | Spearman | retention % |", "|---|---|---|---:|---:|"]
    for e in rows:
        lines += [f"| {e['model']} | {_file(e)} | {name} | {_num(r['spearman'])} | "
                  f"{_num(r.get('retention_percent'), 1)} |" for name, r in e["sts_sets"].items()]
    return lines


def retrieval_markdown(doc: dict[str, Any]) -> list[str]:
    return [*sts_sets_table(doc), *retrieval_table(doc), *index_table(doc)]
