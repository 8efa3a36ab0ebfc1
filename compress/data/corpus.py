"""The unlabeled sentence corpus: .txt(.gz), CSV/TSV (named column) or JSONL (named field)."""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from compress.data.text import base_suffix, json_lines, numbered_lines
from compress.errors import CompressError


@dataclass(frozen=True)
class Corpus:
    """Training sentences and a held-back validation slice, disjoint."""

    train: list[str]
    validation: list[str]

    @property
    def all(self) -> list[str]:
        return self.train + self.validation

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for sentence in self.all:
            digest.update(sentence.encode("utf-8") + b"\n")
        return digest.hexdigest()


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


def read_sentences(path: Path, column: str = "sentence") -> list[str]:
    """Read, strip, drop empty lines and deduplicate (first occurrence wins)."""
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
    seen: set[str] = set()
    sentences = []
    for _, text in rows:
        text = text.strip()
        if text and text not in seen:
            seen.add(text)
            sentences.append(text)
    if not sentences:
        raise CompressError(f"{path} holds no sentences", "give a file with at least one non-empty sentence")
    return sentences


def load_corpus(path: Path, column: str = "sentence", max_sentences: int | None = None,
                validation: int = 0, seed: int = 42) -> Corpus:
    """Read the corpus, sample ``max_sentences`` with ``seed`` (kept in file order) and hold back a slice."""
    sentences = read_sentences(path, column)
    rng = random.Random(seed)
    if max_sentences is not None and len(sentences) > max_sentences:
        keep = sorted(rng.sample(range(len(sentences)), max_sentences))
        sentences = [sentences[i] for i in keep]
    if validation >= len(sentences):
        raise CompressError(f"{path}: {len(sentences)} sentences cannot hold back {validation} for validation",
                            "lower data.validation_sentences or give more sentences")
    held = set(rng.sample(range(len(sentences)), validation))
    train = [s for i, s in enumerate(sentences) if i not in held]
    val = [s for i, s in enumerate(sentences) if i in held]
    return Corpus(train=train, validation=val)
