"""Retrieval evaluation sets in BEIR layout: a folder with ``corpus.jsonl``, ``queries.jsonl`` and ``qrels.tsv``.

- ``corpus.jsonl``: one JSON object a line, ``{"_id", "title", "text"}`` (``title`` optional); the document is
  ``title + " " + text`` (just ``text`` when the title is empty), as BEIR and sentence-transformers'
  ``InformationRetrievalEvaluator`` read it.
- ``queries.jsonl``: ``{"_id", "text"}``.
- ``qrels.tsv``: header ``query-id<TAB>corpus-id<TAB>score``, then one judgment a line; the score is a
  non-negative integer (0: judged not relevant; graded judgments keep their grade as the nDCG gain).

Queries without a positive judgment are dropped (BEIR does the same) and counted. Every error names the file and
line and how to fix it, before any model runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.data.text import json_lines, numbered_lines
from compress.errors import CompressError

CORPUS, QUERIES, QRELS = "corpus.jsonl", "queries.jsonl", "qrels.tsv"
QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass(frozen=True)
class RetrievalSet:
    name: str
    path: str
    doc_ids: list[str]
    docs: list[str]  # title + " " + text, in corpus order
    query_ids: list[str]  # the queries with at least one positive judgment, in file order
    queries: list[str]
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade (0 included: judged not relevant)
    dropped_queries: int = 0  # queries in the file without a positive judgment

    def fingerprint(self, side: str) -> str:
        """The content of one side ("docs" or "queries"): their ids and texts, in order."""
        ids, texts = (self.doc_ids, self.docs) if side == "docs" else (self.query_ids, self.queries)
        digest = hashlib.sha256()
        for i, t in zip(ids, texts, strict=True):
            digest.update(f"{len(i)}:{i}{len(t)}:{t}".encode())
        return digest.hexdigest()[:24]

    def describe(self) -> dict[str, Any]:
        judged = sum(len(v) for v in self.qrels.values())
        return {"path": self.path, "docs": len(self.docs), "queries": len(self.queries),
                "dropped_queries": self.dropped_queries, "judgments": judged}


def _fail(path: Path, line: int | None, what: str, fix: str) -> CompressError:
    return CompressError(f"{path}{f':{line}' if line else ''}: {what}", fix)


def _records(path: Path, fields: tuple[str, ...]) -> tuple[list[str], list[dict[str, Any]], dict[str, int]]:
    """The JSON lines of ``path``: ids, records, and the line of each id."""
    if not path.is_file():
        raise _fail(path, None, "missing", f"a BEIR folder needs {CORPUS}, {QUERIES} and {QRELS}")
    ids: list[str] = []
    records: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    for line_no, record in json_lines(path):
        for field in fields:
            value = record.get(field, "" if field == "title" else None)
            if not isinstance(value, str) or (field == "_id" and not value):
                raise _fail(path, line_no, f"field {field!r} is missing or not a string",
                            f"give every line a string {field!r}")
        rid = record["_id"]
        if rid in lines:
            raise _fail(path, line_no, f"id {rid!r} repeats line {lines[rid]}", "give every record its own _id")
        ids.append(rid)
        records.append(record)
        lines[rid] = line_no
    return ids, records, lines


def _qrels(path: Path, query_ids: set[str], doc_ids: set[str]) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise _fail(path, None, "missing", f"a BEIR folder needs {CORPUS}, {QUERIES} and {QRELS}")
    qrels: dict[str, dict[str, int]] = {}
    rows = numbered_lines(path)
    first = next(rows, None)
    if first is None or tuple(first[1].rstrip("\r\n").split("\t")) != QRELS_HEADER:
        raise _fail(path, 1, f"the header must be {'<TAB>'.join(QRELS_HEADER)}",
                    "write the header line query-id, corpus-id, score separated by tabs")
    for line_no, line in rows:
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split("\t")
        if len(cells) != 3:
            raise _fail(path, line_no, f"{len(cells)} tab-separated fields, expected 3",
                        "write query-id<TAB>corpus-id<TAB>score")
        qid, did, raw = cells
        if qid not in query_ids:
            raise _fail(path, line_no, f"query id {qid!r} is not in {QUERIES}", "judge only queries that exist")
        if did not in doc_ids:
            raise _fail(path, line_no, f"corpus id {did!r} is not in {CORPUS}", "judge only documents that exist")
        try:
            score = int(raw)
        except ValueError:
            score = -1
        if score < 0:
            raise _fail(path, line_no, f"score {raw!r} is not a non-negative integer",
                        "give a relevance grade: 0 (not relevant), 1, 2, ...")
        qrels.setdefault(qid, {})[did] = score
    return qrels


def load_beir(folder: Path, name: str | None = None) -> RetrievalSet:
    """Read and check a BEIR folder (see the module docstring)."""
    if not folder.is_dir():
        raise CompressError(f"retrieval set {folder} is not a folder",
                            f"give a folder holding {CORPUS}, {QUERIES} and {QRELS} (BEIR layout)")
    doc_ids, docs, _ = _records(folder / CORPUS, ("_id", "text", "title"))
    query_ids, queries, _ = _records(folder / QUERIES, ("_id", "text"))
    if not doc_ids:
        raise _fail(folder / CORPUS, None, "holds no documents", "add one JSON object per document")
    if not query_ids:
        raise _fail(folder / QUERIES, None, "holds no queries", "add one JSON object per query")
    qrels = _qrels(folder / QRELS, set(query_ids), set(doc_ids))
    kept = [i for i, q in enumerate(query_ids) if any(g > 0 for g in qrels.get(q, {}).values())]
    if not kept:
        raise _fail(folder / QRELS, None, "no query has a positive judgment (score > 0)",
                    "judge at least one relevant document for a query")
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in docs]
    return RetrievalSet(name or folder.name, str(folder), doc_ids, texts, [query_ids[i] for i in kept],
                        [queries[i]["text"] for i in kept], {query_ids[i]: qrels[query_ids[i]] for i in kept},
                        len(query_ids) - len(kept))
