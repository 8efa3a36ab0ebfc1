from __future__ import annotations

from pathlib import Path

import pytest

from compress.data import load_sts
from compress.errors import CompressError
from tests.conftest import SHARED_DATA


def test_reads_pairs(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('sentence1,sentence2,score\n"a, b",c,5.0\nd,e,2.5\n')
    pairs = load_sts(path)
    assert pairs.sentences1 == ["a, b", "d"] and pairs.sentences2 == ["c", "e"]
    assert pairs.scores == [5.0, 2.5]
    assert pairs.normalized_scores() == [1.0, 0.5]


@pytest.mark.skipif(not (SHARED_DATA / "stsb" / "dev.csv").exists(), reason="shared data not beside the repo")
def test_reads_the_shared_stsb_files() -> None:
    assert len(load_sts(SHARED_DATA / "stsb" / "dev.csv")) == 1500
    assert len(load_sts(SHARED_DATA / "stsb" / "test.csv")) == 1379


@pytest.mark.parametrize(("content", "needle"), [
    ("sentence1,sentence2,score\na,b,high\n", "p.csv:2: score 'high' is missing or not a number"),
    ("sentence1,sentence2,score\na,b,1\nc,d,\n", "p.csv:3: score '' is missing"),
    ("sentence1,sentence2,score\na,b,nan\n", "p.csv:2: score 'nan'"),
    ("sentence1,score\na,1\n", "p.csv:1: missing column(s) sentence2"),
    ("sentence1,sentence2,score\na,b\n", "p.csv:2: 2 fields, expected 3"),
    ("", "is empty"),
    ("sentence1,sentence2,score\n", "has a header but no pairs"),
])
def test_bad_pairs(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(content)
    with pytest.raises(CompressError) as info:
        load_sts(path)
    assert needle in str(info.value)
