from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from compress.data import load_corpus, read_sentences
from compress.errors import CompressError


def test_txt_strips_drops_empty_and_dedups(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("  one  \n\ntwo\none\n   \nthree\n")
    assert read_sentences(path) == ["one", "two", "three"]


def test_gzip_csv_tsv_jsonl(tmp_path: Path) -> None:
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(b"a\nb\n"))
    csv_path = tmp_path / "c.csv"
    csv_path.write_text('id,text\n1,"hello, world"\n2,bye\n')
    tsv = tmp_path / "c.tsv"
    tsv.write_text("text\tid\nx y\t1\n")
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(json.dumps({"text": "j1"}) + "\n\n" + json.dumps({"text": "j2"}) + "\n")
    assert read_sentences(gz) == ["a", "b"]
    assert read_sentences(csv_path, "text") == ["hello, world", "bye"]
    assert read_sentences(tsv, "text") == ["x y"]
    assert read_sentences(jsonl, "text") == ["j1", "j2"]


def test_sampling_is_seeded_and_validation_is_disjoint(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(f"sentence {i}" for i in range(100)))
    a = load_corpus(path, max_sentences=50, validation=10, seed=1)
    b = load_corpus(path, max_sentences=50, validation=10, seed=1)
    c = load_corpus(path, max_sentences=50, validation=10, seed=2)
    assert a == b and a != c
    assert len(a.train) == 40 and len(a.validation) == 10
    assert not set(a.train) & set(a.validation)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


@pytest.mark.parametrize(("name", "content", "kwargs", "needle"), [
    ("bad.txt", b"fine\nalso fine\n\xff\xfe broken\n", {}, "bad.txt:3: bytes that are not UTF-8"),
    ("empty.txt", b"", {}, "holds no sentences"),
    ("blank.txt", b"\n  \n", {}, "holds no sentences"),
    ("c.csv", b"id,body\n1,x\n", {"column": "text"}, "c.csv:1: no column 'text' (columns: id, body)"),
    ("c.jsonl", b'{"text": "a"}\n{"body": "b"}\n', {"column": "text"}, "c.jsonl:2: no field 'text'"),
    ("c.jsonl", b'{"text": "a"}\n{oops\n', {"column": "text"}, "c.jsonl:2: not a JSON object"),
    ("c.parquet", b"x", {}, "unknown corpus format"),
    ("empty.csv", b"", {"column": "text"}, "is empty"),
])
def test_bad_input_names_file_and_line(tmp_path: Path, name: str, content: bytes, kwargs: dict[str, str],
                                       needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CompressError) as info:
        read_sentences(path, **kwargs)
    assert needle in str(info.value)
    assert info.value.hint or "no sentences" not in needle


def test_unreadable_gzip_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "c.txt.gz"
    broken.write_bytes(gzip.compress(b"a\n" * 1000)[:30])
    with pytest.raises(CompressError, match="unreadable gzip"):
        read_sentences(broken)
    not_gzip = tmp_path / "d.txt.gz"
    not_gzip.write_bytes(b"plain text")
    with pytest.raises(CompressError, match="unreadable gzip"):
        read_sentences(not_gzip)
    with pytest.raises(CompressError, match="does not exist"):
        read_sentences(tmp_path / "nope.txt")


def test_validation_larger_than_corpus(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("a\nb\n")
    with pytest.raises(CompressError, match="cannot hold back 5"):
        load_corpus(path, validation=5)
