"""The release's lead table: its queries on the teacher's index first, then alone and STS, beside the teacher and
the peers."""

from __future__ import annotations

from typing import Any

from compress.run.release_report import card_scores, glance


def _row(model: str, alone: float, index: dict[str, Any] | None, **flags: bool) -> dict[str, Any]:
    return {"model": model, "profile": "x86-server", "file": "onnx/f.onnx", "p50_ms": 2.0, "p95_ms": 3.0,
            "batch32_per_s": 900.0, "size_mb": 22.0, "sts_test": 80.0, "retention_percent": 95.0,
            "retrieval": {"cacm": {"ndcg@10": alone}},
            # as compress.run.release_report._bench_rows keeps them: every key, None where not measured
            "index": {"cacm": {k: index.get(k) for k in ("ndcg@10", "retention_percent", "error")}} if index else {},
            "teacher": flags.get("teacher", False), "peer": flags.get("peer", False)}


METRICS = {"distill": {"teacher": {"sts_test": 83.4}, "student": {"sts_test": 81.0},
                       "retention_percent": {"sts_test": 97.1}, "heldback_cosine": 0.8},
           "bench": [_row("teacher", 40.0, None, teacher=True),
                     _row("student", 30.0, {"ndcg@10": 20.0, "retention_percent": 50.0}),
                     _row("all-MiniLM-L6-v2 int8", 36.0, {"error": "dims differ"}, peer=True),
                     {**_row("student", 30.0, None), "profile": "edge-1core"}]}


def test_the_lead_says_what_the_index_keeps_and_sets_the_student_beside_teacher_and_peer() -> None:
    lines = glance(METRICS)
    text = "\n".join(lines)
    assert lines[0] == "## At a glance"
    assert "keeps cacm 50.0% of the teacher's own nDCG@10" in text
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [r.split(" | ")[0] for r in rows] == ["| teacher (`onnx/f.onnx`)", "| this model (`onnx/f.onnx`)",
                                                 "| all-MiniLM-L6-v2 int8 (`onnx/f.onnx`)"]  # one profile only
    teacher, student, peer = rows
    assert "| 40.00 (100.0%) | 40.00 (100.0%) |" in teacher  # its own index is its own retrieval
    assert "| 20.00 (50.0%) | 30.00 (75.0%) |" in student
    assert "| another space: cannot | 36.00 (90.0%) |" in peer


def test_the_card_leads_with_the_same_table() -> None:
    card = card_scores(METRICS)
    assert card[0].startswith("Embed queries with this model against documents the teacher")
    sts = card.index(next(c for c in card if c.startswith("STS-B test (Spearman")))
    assert any(c.startswith("| this model") for c in card[:sts])  # the table comes before the STS line


def test_without_retrieval_sets_every_row_has_the_headings_cells() -> None:
    """A config that measures no retrieval set (the fast tier's): STS, speed and size only, each row as wide as its
    heading, so that no value lands under another column."""
    bare = [{**r, "retrieval": {}, "index": {}} for r in METRICS["bench"]]
    lines = glance({**METRICS, "bench": bare})
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| model | STS-B test | b1 p50 ms | b32 sent/s | MB |"
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert table[2] == "| teacher (`onnx/f.onnx`) | 80.00 | 2.00 | 900 | 22.0 |"
    assert not any("nDCG" in line for line in lines)
