"""BEIR folders: read as BEIR reads them; every malformed file is an error naming the file and line (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from compress.cli import app
from compress.data.beir import load_beir
from compress.errors import CompressError
from tests.conftest import SHARED_DATA, write_beir

DOCS = [{"_id": "1", "title": "A title", "text": "the text."}, {"_id": "2", "title": "", "text": "only text."},
        {"_id": "3", "text": "no title field."}]
QUERIES = [{"_id": "1", "text": "first query"}, {"_id": "7", "text": "unjudged query"},
           {"_id": "9", "text": "judged not relevant only"}]
QRELS = [("1", "1", "2"), ("1", "3", "1"), ("9", "2", "0")]


def test_reads_documents_as_title_plus_text(tmp_path: Path) -> None:
    rset = load_beir(write_beir(tmp_path / "toy", DOCS, QUERIES, QRELS))
    assert rset.name == "toy" and rset.doc_ids == ["1", "2", "3"]
    assert rset.docs == ["A title the text.", "only text.", "no title field."]
    assert rset.query_ids == ["1"] and rset.dropped_queries == 2  # 7 unjudged, 9 has no positive judgment
    assert rset.qrels == {"1": {"1": 2, "3": 1}}
    assert rset.fingerprint("docs") != rset.fingerprint("queries")


def test_the_shared_sets_load_with_their_published_sizes() -> None:
    for name, docs, queries, judgments in (("cacm", 3204, 52, 796), ("npl", 11429, 93, 2083)):
        folder = SHARED_DATA / "retrieval" / name
        if not folder.is_dir():
            pytest.fail(f"{folder} is missing: the shared data folder must sit beside the repository")
        described = load_beir(folder).describe()
        assert (described["docs"], described["queries"], described["judgments"]) == (docs, queries, judgments)


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: (f / "qrels.tsv").unlink(), "qrels.tsv: missing"),
    (lambda f: (f / "corpus.jsonl").unlink(), "corpus.jsonl: missing"),
    (lambda f: (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\t1\t1\n1\t99\t1\n"),
     "qrels.tsv:3: corpus id '99' is not in corpus.jsonl"),
    (lambda f: (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n5\t1\t1\n"),
     "qrels.tsv:2: query id '5' is not in queries.jsonl"),
    (lambda f: (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\t1\thigh\n"),
     "qrels.tsv:2: score 'high' is not a non-negative integer"),
    (lambda f: (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\t1\t-1\n"),
     "qrels.tsv:2: score '-1' is not a non-negative integer"),
    (lambda f: (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\t1\n"),
     "qrels.tsv:2: 2 tab-separated fields, expected 3"),
    (lambda f: (f / "qrels.tsv").write_text("qid did rel\n1 1 1\n"), "qrels.tsv:1: the header must be"),
    (lambda f: (f / "queries.jsonl").write_text(""), "queries.jsonl: holds no queries"),
    (lambda f: (f / "queries.jsonl").write_text('{"_id": "1", "text": "q"}\n{"_id": "1", "text": "again"}\n'),
     "queries.jsonl:2: id '1' repeats line 1"),
    (lambda f: (f / "corpus.jsonl").write_text('{"_id": "1", "text": "d"}\n{"_id": "2", "text": 5}\n'),
     "corpus.jsonl:2: field 'text' is missing or not a string"),
    (lambda f: (f / "corpus.jsonl").write_text('{"_id": "1", "text": "d"}\nnot json\n'),
     "corpus.jsonl:2: not a JSON object"),
    (lambda f: (f / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\t1\t0\n"),
     "qrels.tsv: no query has a positive judgment"),
])
def test_malformed_folders_name_the_file_and_line(tmp_path: Path, change, message: str) -> None:
    folder = write_beir(tmp_path / "bad", DOCS[:2], QUERIES[:1], [("1", "1", "1")])
    change(folder)
    with pytest.raises(CompressError) as raised:
        load_beir(folder)
    assert message in str(raised.value) and str(folder) in str(raised.value)
    assert raised.value.hint


def test_a_bad_set_stops_bench_with_exit_2_before_any_model_runs(tmp_path: Path, tiny_student_dir: Path) -> None:
    folder = write_beir(tmp_path / "bad", DOCS, QUERIES, [("1", "1", "x")])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["bench", str(tiny_student_dir), "--teacher", "none", "--out", str(out),
                                      "--retrieval", f"mine={folder}", "--set", "bench.profiles=[\"edge-1core\"]"])
    assert result.exit_code == 2, result.output
    assert "bench.retrieval_sets.mine" in result.output and "qrels.tsv:2: score 'x'" in result.output
    assert not out.exists()  # refused before anything was written
    result = CliRunner().invoke(app, ["bench", str(tiny_student_dir), "--retrieval", "no-equals-sign"])
    assert result.exit_code == 2 and "is not NAME=PATH" in result.output
