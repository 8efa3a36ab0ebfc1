"""The unlabeled sentence corpus: .txt(.gz), CSV/TSV (named column) or JSONL (named field)."""

from __future__ import annotations

import csv
import hashlib
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from compress.config import DataConfig
from compress.data.coverage import coverage_order
from compress.data.passages import build_passages
from compress.data.queries import build_queries
from compress.data.text import base_suffix, json_lines, numbered_lines
from compress.enums import Sampling
from compress.errors import CompressError

OWN_TEXT_COLUMN = "text"  # the column (CSV/TSV) or field (JSONL) of data.queries_file and data.documents_file
POOL_CAP = 1_000_000  # sentences a passage pool holds at most (a seeded sample of the rest beyond it)


@dataclass(frozen=True)
class Corpus:
    """Training sentences and a held-back validation slice, disjoint; optional passages (several sentences joined,
    ``compress.data.passages``) and query-shaped texts (``compress.data.queries``) for training and held back, made
    of sentences outside both sentence slices."""

    train: list[str]
    validation: list[str]
    passages: list[str] = field(default_factory=list)
    validation_passages: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    validation_queries: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return self.train + self.validation

    @property
    def all_passages(self) -> list[str]:
        return self.passages + self.validation_passages

    def fingerprint(self) -> str:
        """Of the sentences only: passages are cached apart (``passage_fingerprint``), so adding them keeps the
        sentence cache."""
        return texts_fingerprint(self.all)

    def passage_fingerprint(self) -> str:
        return texts_fingerprint(self.all_passages)

    @property
    def all_queries(self) -> list[str]:
        return self.queries + self.validation_queries

    def query_fingerprint(self) -> str:
        return texts_fingerprint(self.all_queries)

    @property
    def training_texts(self) -> list[str]:
        """What the student trains on, in the order of the teacher's targets: sentences, queries, passages."""
        return self.train + self.queries + self.passages


def texts_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class PassagePlan:
    """How many passages to build (training, held back) and their length in words."""

    count: int = 0
    validation: int = 0
    min_words: int = 40
    max_words: int = 180


@dataclass(frozen=True)
class QueryPlan:
    """How many query-shaped texts to build (training, held back)."""

    count: int = 0
    validation: int = 0


def _from_delimited(path: Path, column: str, delimiter: str) -> Iterator[tuple[int, str]]:
    lines = numbered_lines(path)
    header_line = next(lines, None)
    if header_line is None:
        raise CompressError(f"{path} is empty", "give a file with a header row and one sentence per row")
    header = next(csv.reader([header_line[1]], delimiter=delimiter))
    if column not in header:
        raise CompressError(f"{path}:1: no column '{column}' (columns: {', '.join(header)})",
                            "set data.column to the column that holds the sentences")
    index = header.index(column)
    for line_no, line in lines:
        row = next(csv.reader([line], delimiter=delimiter), [])
        if not row:
            continue
        if index >= len(row):
            raise CompressError(f"{path}:{line_no}: row has {len(row)} fields, column '{column}' is field {index + 1}",
                                "fix the row or quote fields that contain the delimiter")
        yield line_no, row[index]


def _from_jsonl(path: Path, field: str) -> Iterator[tuple[int, str]]:
    for line_no, record in json_lines(path):
        if field not in record:
            raise CompressError(f"{path}:{line_no}: no field '{field}'", "set data.column to the field with the text")
        if not isinstance(record[field], str):
            raise CompressError(f"{path}:{line_no}: field '{field}' is not a string")
        yield line_no, record[field]


def _rows(path: Path, column: str) -> Iterator[str]:
    """The stripped, non-empty texts of ``path`` in file order, duplicates included."""
    kind = base_suffix(path)
    if kind in (".csv", ".tsv"):
        rows = _from_delimited(path, column, "\t" if kind == ".tsv" else ",")
    elif kind in (".jsonl", ".ndjson"):
        rows = _from_jsonl(path, column)
    elif kind in (".txt", ""):
        rows = numbered_lines(path)
    else:
        raise CompressError(f"{path}: unknown corpus format '{kind}'",
                            "use .txt/.txt.gz (a sentence a line), .csv/.tsv (data.column) or .jsonl (data.column)")
    for _, text in rows:
        text = text.strip()
        if text:
            yield text


def unique_rows(path: Path, column: str = "sentence") -> np.ndarray:
    """The positions (among the non-empty rows) of each sentence's first occurrence, in file order: one streaming
    pass that keeps an 8-byte hash per row, so memory grows with the row count, not with the text. Two different
    sentences with the same hash would count as one: a chance of about rows^2 / 2^65 (3e-6 for 10M rows)."""
    hashes = array("Q")
    for text in _rows(path, column):
        hashes.append(int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little"))
    if not hashes:
        raise CompressError(f"{path} holds no sentences", "give a file with at least one non-empty sentence")
    _, first = np.unique(np.frombuffer(hashes, dtype=np.uint64), return_index=True)
    del hashes
    first.sort()
    return first


def gather_rows(path: Path, column: str, wanted: Sequence[np.ndarray]) -> list[list[str]]:
    """For each sorted array of row positions in ``wanted``, the texts at those positions (a second streaming pass)."""
    out: list[list[str]] = [[] for _ in wanted]
    cursors = [0] * len(wanted)
    for position, text in enumerate(_rows(path, column)):
        for k, rows in enumerate(wanted):
            if cursors[k] < len(rows) and rows[cursors[k]] == position:
                out[k].append(text)
                cursors[k] += 1
    return out


def read_sentences(path: Path, column: str = "sentence") -> list[str]:
    """Read, strip, drop empty lines and deduplicate (first occurrence wins)."""
    return gather_rows(path, column, [unique_rows(path, column)])[0]


def load_corpus(path: Path, column: str = "sentence", max_sentences: int | None = None,
                validation: int = 0, seed: int = 42, passages: PassagePlan | None = None,
                queries: QueryPlan | None = None, sampling: Sampling = Sampling.RANDOM) -> Corpus:
    """Read the corpus, sample ``max_sentences`` with ``seed`` (``sampling``: at random, or for the words they cover;
    kept in file order) and hold back a slice; build ``passages`` and ``queries`` from the sentences outside the
    sample (from the training slice when the sample is the whole file): a coverage sample's queries from the
    sentences its greedy pass would pick next, so that they bring words of their own too.

    Two streaming passes: the first finds the unique sentences by hash (``unique_rows``), the second keeps only the
    sampled ones (and the pool of the rest), so memory grows with the sample, not the file (a coverage sample reads
    its candidates in between: the whole file, or a seeded sample of ``POOL_CAP`` of it)."""
    first = unique_rows(path, column)
    rng = random.Random(seed)
    keep, pool, query_rows = first, first[:0], first[:0]
    wanted = queries.count + queries.validation if queries and queries.count else 0
    # the rest of the file is read for passages, and for queries unless the coverage pass picks their sentences
    extra = bool(passages and passages.count) or bool(wanted and sampling is not Sampling.COVERAGE)
    if max_sentences is not None and len(first) > max_sentences:
        chosen = np.zeros(len(first), dtype=bool)
        if sampling is Sampling.COVERAGE:
            picked = _coverage_rows(path, column, first, max_sentences + wanted, seed)
            chosen[picked[:max_sentences]] = True
            query_rows = first[np.sort(picked[max_sentences:])]
        else:
            chosen[sorted(rng.sample(range(len(first)), max_sentences))] = True
        keep = first[chosen]
        if extra:
            pool = _passage_pool(first[~chosen], seed)
    del first
    sentences, rest, query_pool = gather_rows(path, column, [keep, pool, query_rows])
    if validation >= len(sentences):
        raise CompressError(f"{path}: {len(sentences)} sentences cannot hold back {validation} for validation",
                            "lower data.validation_sentences or give more sentences")
    held = set(rng.sample(range(len(sentences)), validation))
    train = [s for i, s in enumerate(sentences) if i not in held]
    val = [s for i, s in enumerate(sentences) if i in held]
    corpus = Corpus(train=train, validation=val)
    # generators of their own: the sentence sample stays the same with or without passages and queries
    if passages and passages.count:
        built = build_passages(rest or train, passages.count + passages.validation, passages.min_words,
                               passages.max_words, random.Random(f"{seed}-passages"))
        corpus = replace(corpus, passages=built[:passages.count], validation_passages=built[passages.count:])
    if queries and queries.count:
        made = build_queries(query_pool or rest or train, wanted, random.Random(f"{seed}-queries"))
        corpus = replace(corpus, queries=made[:queries.count], validation_queries=made[queries.count:])
    return corpus


def _coverage_rows(path: Path, column: str, first: np.ndarray, count: int, seed: int) -> np.ndarray:
    """The indices into ``first`` of ``count`` sentences chosen for their words (``compress.data.coverage``) among
    all of them, or among a seeded sample of ``POOL_CAP`` when there are more, in the order they were picked."""
    candidates = np.arange(len(first))
    if len(first) > POOL_CAP:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        candidates = np.sort(rng.choice(candidates, POOL_CAP, replace=False))
    texts = gather_rows(path, column, [first[candidates]])[0]
    return candidates[np.asarray(coverage_order(texts, count), dtype=np.int64)]


def _passage_pool(outside: np.ndarray, seed: int) -> np.ndarray:
    """The rows passages are built from: those outside the sample, or a seeded sample of ``POOL_CAP`` of them."""
    if len(outside) <= POOL_CAP:
        return outside
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    return np.sort(rng.choice(outside, POOL_CAP, replace=False))


def sentences_of(data: DataConfig) -> Corpus:
    """The ``[data]`` section's sentence sample and held-back slice only (no passages, no queries): what the export
    and bench stages measure on when distillation handed them nothing."""
    return load_corpus(Path(data.corpus), data.column, data.max_sentences, data.validation_sentences, data.seed,
                       sampling=data.sampling)


def corpus_of(data: DataConfig) -> Corpus:
    """The corpus the ``[data]`` section describes: the sentence sample, the held-back slice, the passages and the
    query-shaped texts."""
    plan = PassagePlan(data.passages, data.validation_passages, data.passage_words[0], data.passage_words[1])
    corpus = load_corpus(Path(data.corpus), data.column, data.max_sentences, data.validation_sentences, data.seed,
                         plan if data.passages else None, QueryPlan(data.queries, data.validation_queries),
                         data.sampling)
    if data.queries_file:
        own = read_sentences(Path(data.queries_file), OWN_TEXT_COLUMN)
        held = 0 if data.queries else min(data.validation_queries, len(own) - 1)
        corpus = replace(corpus, queries=own[:len(own) - held] + corpus.queries,
                         validation_queries=own[len(own) - held:] + corpus.validation_queries)
    if data.documents_file:
        pieces = split_documents(read_sentences(Path(data.documents_file), OWN_TEXT_COLUMN), data.passage_words[1])
        corpus = replace(corpus, passages=corpus.passages + pieces)
    return corpus


def split_documents(documents: Sequence[str], max_words: int) -> list[str]:
    """Each document as passages of up to ``max_words`` words, cut at the last sentence end inside each window
    when there is one (else at ``max_words``)."""
    passages: list[str] = []
    for document in documents:
        words = document.split()
        while words:
            window = words[:max_words]
            if len(words) > max_words:
                ends = [i for i, w in enumerate(window[:-1]) if w.endswith((".", "?", "!"))]
                window = window[:ends[-1] + 1] if ends and ends[-1] >= max_words // 2 else window
            passages.append(" ".join(window))
            words = words[len(window):]
    return passages
