"""The retrieval gates per set and for all sets, what they say when they cannot judge, and the Pareto axis."""

from __future__ import annotations

from compress.bench.pareto import accuracy, axis_label
from compress.gates import GateSettings, check

STUDENT = {"model": "s", "profile": "p", "status": "ok",
           "retrieval": {"cacm": {"ndcg@10": 30.0, "retention_percent": 75.0},
                         "npl": {"ndcg@10": 20.0, "retention_percent": 90.0}},
           "index": {"cacm": {"ndcg@10": 25.0, "retention_percent": 62.5},
                     "npl": {"error": "dims differ: the student's 384 vs the teacher's 768"}}}


def failed(entry: dict, **thresholds: dict[str, float]) -> list[str]:
    return check([entry], GateSettings(thresholds))


def test_per_set_and_all_sets() -> None:
    assert failed(STUDENT, min_retrieval_retention={"npl": 80.0}) == []
    assert failed(STUDENT, min_retrieval_retention={"*": 80.0}) == [
        "s on p: retrieval nDCG@10 on cacm: retention 75.00% < 80.0%"]
    assert failed(STUDENT, min_retrieval_retention={"*": 95.0, "cacm": 70.0}) == [
        "s on p: retrieval nDCG@10 on npl: retention 90.00% < 95.0%"]


def test_a_gate_that_cannot_judge_fails_and_says_why() -> None:
    assert failed(STUDENT, min_index_retention={"cacm": 60.0}) == []
    assert failed(STUDENT, min_index_retention={"*": 60.0}) == [
        "s on p: index compatibility nDCG@10 on npl: cannot be judged (dims differ: the student's 384 vs the "
        "teacher's 768)"]
    alone = {k: v for k, v in STUDENT.items() if k != "index"}
    assert failed(alone, min_index_retention={"*": 60.0}) == [
        "s on p: index compatibility nDCG@10 not measured (no teacher measured beside it)"]
    assert failed(STUDENT, min_retrieval_retention={"other": 10.0}) == ["s on p: retrieval nDCG@10 on other: "
                                                                       "not measured"]


def test_pareto_axis_reads_sts_or_ndcg() -> None:
    entry = {**STUDENT, "sts_spearman": 80.0}
    assert accuracy(entry) == 80.0 and accuracy(entry, "ndcg@10") == 25.0
    assert accuracy(entry, "ndcg@10:npl") == 20.0 and accuracy({"status": "ok"}, "ndcg@10") is None
    assert axis_label("ndcg@10:cacm") == "ndcg@10 x100 (cacm)"


def test_the_index_axis_needs_every_set_scored_and_puts_the_teacher_at_its_own_score() -> None:
    from compress.bench.pareto import panel_axes

    assert accuracy(STUDENT, "index:cacm") == 25.0
    assert accuracy(STUDENT, "index") is None  # npl could not be scored (another space): no mean over part
    teacher = {"model": "t", "status": "ok", "teacher": True, "retrieval": {"cacm": {"ndcg@10": 40.0}}}
    assert accuracy(teacher, "index") == 40.0
    assert "teacher's index" in axis_label("index")
    assert panel_axes([{**STUDENT, "sts_spearman": 80.0}, teacher], "index") == ["index", "sts", "ndcg@10"]
    assert panel_axes([{**STUDENT, "sts_spearman": 80.0}]) == ["sts", "ndcg@10"]  # no point on "index"
