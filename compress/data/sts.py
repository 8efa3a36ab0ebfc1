"""Labeled sentence pairs (STS Benchmark style CSV: sentence1,sentence2,score)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from compress.data.text import numbered_lines
from compress.errors import CompressError

COLUMNS = ("sentence1", "sentence2", "score")


@dataclass(frozen=True)
class StsPairs:
    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]

    def __len__(self) -> int:
        return len(self.scores)

    def normalized_scores(self) -> list[float]:
        """Scores scaled to 0..1 by the largest score seen (STS-B: 0..5)."""
        top = max(self.scores) or 1.0
        return [s / top for s in self.scores]


def load_sts(path: Path) -> StsPairs:
    rows = numbered_lines(path)
    first = next(rows, None)
    if first is None:
        raise CompressError(f"{path} is empty", "give a CSV with header sentence1,sentence2,score")
    header = next(csv.reader([first[1]]))
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CompressError(f"{path}:1: missing column(s) {', '.join(missing)} (found: {', '.join(header)})",
                            "the header must name sentence1,sentence2,score")
    idx = [header.index(c) for c in COLUMNS]
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    for line_no, line in rows:
        row = next(csv.reader([line]), [])
        if not row:
            continue
        if len(row) <= max(idx):
            raise CompressError(f"{path}:{line_no}: {len(row)} fields, expected {len(header)}",
                                "quote sentences that contain commas")
        raw = row[idx[2]].strip()
        try:
            score = float(raw)
        except ValueError:
            score = math.nan
        if not raw or not math.isfinite(score):
            raise CompressError(f"{path}:{line_no}: score {raw!r} is missing or not a number",
                                "give a numeric score (e.g. 0 to 5) on every row")
        s1.append(row[idx[0]])
        s2.append(row[idx[1]])
        scores.append(score)
    if not scores:
        raise CompressError(f"{path} has a header but no pairs", "add rows of sentence1,sentence2,score")
    return StsPairs(s1, s2, scores)
