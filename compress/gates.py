"""Every release gate in one registry: its config key, the stage that judges it, and how.

Export gates are judged on each int8 file while it is quantized (``export.gate``: a file that fails is
re-quantized). Bench gates are judged on the benchmark's results, when the benchmark is written and again when
``compress run`` assembles the release (with that run's thresholds: changing one re-measures nothing).
Adding a gate: a field in ``compress.config.BenchConfig`` (or ``ExportConfig``) and an entry here: the config
checks (``compress.config.checks``: a positive number, set retrieval sets, a teacher or ``bench.against`` to
compare with), the run's stage keys (thresholds re-measure nothing) and the judging all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Entry = dict[str, Any]


@dataclass(frozen=True)
class GateSettings:
    """The bench gates' thresholds (None: off), which models they apply to, and the head-to-head reference."""

    thresholds: dict[str, Any] = field(default_factory=dict)
    models: tuple[str, ...] | None = None  # labels the gates apply to; None: every model but the teacher
    against: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.thresholds, "models": list(self.models) if self.models is not None else None,
                "against": self.against}


class GateNeeds(StrEnum):
    """What a gate compares with, which the config must name."""

    NOTHING = "nothing"
    TEACHER = "teacher"  # a share of the teacher's score: bench.teacher must be set
    AGAINST = "against"  # a ratio to another model: bench.against must be set


@dataclass(frozen=True)
class Gate:
    name: str  # the key in [bench] (or [export])
    stage: str  # "export" or "bench"
    what: str
    judge: Callable[[Entry, Any, GateSettings], list[str]] | None = None  # bench: failures for one result
    needs: GateNeeds = GateNeeds.NOTHING
    per_set: bool = False  # a threshold per retrieval set (its keys name bench.retrieval_sets, or "*")


def _retention(e: Entry, limit: float, _: GateSettings) -> list[str]:
    retention = e.get("retention_percent")
    if retention is None:
        return ["retention not measured (the teacher or the STS scores are missing)"]
    return [f"retention {retention:.2f}% < {limit}%"] if retention < limit else []


def _p95(e: Entry, limits: dict[str, float], _: GateSettings) -> list[str]:
    limit = limits.get(e["profile"], limits.get("*"))
    p95 = e["latency_batch1"]["total"]["p95_ms"]
    return [f"batch-1 p95 {p95:.2f} ms > {limit} ms"] if limit is not None and p95 > limit else []


def _size(e: Entry, limit: float, _: GateSettings) -> list[str]:
    return [f"size {e['size_mb']:.1f} MB > {limit} MB"] if e["size_mb"] > limit else []


def _per_set(e: Entry, limits: dict[str, float], key: str, what: str) -> list[str]:
    """Each limited set's ``retention_percent`` under ``e[key]`` ("retrieval" or "index"), or why it is missing."""
    results = e.get(key)
    if not results:
        why = ("no teacher measured beside it, or no retrieval set" if key == "retrieval"
               else "no teacher measured beside it")
        return [f"{what} not measured ({why})"]
    failed = []
    named = [n for n in limits if n != "*"]
    for name in dict.fromkeys([*named, *(results if "*" in limits else [])]):
        limit, result = limits.get(name, limits.get("*")), results.get(name)
        if limit is None:
            continue
        if result is None:
            failed.append(f"{what} on {name}: not measured")
        elif result.get("retention_percent") is None:
            failed.append(f"{what} on {name}: cannot be judged ({result.get('error', 'no teacher score')})")
        elif result["retention_percent"] < limit:
            failed.append(f"{what} on {name}: retention {result['retention_percent']:.2f}% < {limit}%")
    return failed


def _retrieval_retention(e: Entry, limits: dict[str, float], _: GateSettings) -> list[str]:
    return _per_set(e, limits, "retrieval", "retrieval nDCG@10")


def _index_retention(e: Entry, limits: dict[str, float], _: GateSettings) -> list[str]:
    return _per_set(e, limits, "index", "index compatibility nDCG@10")


def _versus(e: Entry, settings: GateSettings) -> tuple[dict[str, Any] | None, list[str]]:
    versus = e.get("head_to_head")
    if e["model"] == settings.against:
        return None, []
    if not versus or "latency_ratio" not in versus:
        return None, [f"no head-to-head result against {settings.against} "
                      f"({(versus or {}).get('error', 'not measured')})"]
    return versus, []


def _latency_ratio(e: Entry, limit: float, settings: GateSettings) -> list[str]:
    versus, missing = _versus(e, settings)
    if versus is None:
        return missing
    ratio = versus["latency_ratio"]["median"]
    return [f"batch-1 p50 {ratio:.2f}x {settings.against}'s > {limit}x"] if ratio > limit else []


def _throughput_ratio(e: Entry, limit: float, settings: GateSettings) -> list[str]:
    versus, missing = _versus(e, settings)
    if versus is None:
        return missing
    ratio = versus["throughput_ratio"]["median"]
    return ([f"batch-{versus['batch']} throughput {ratio:.2f}x {settings.against}'s < {limit}x"]
            if ratio < limit else [])


EXPORT_GATES = (
    Gate("min_retention", "export", "% of the fp32 ONNX model's STS dev Spearman each int8 file keeps"),
    Gate("min_cosine", "export", "mean cosine of each int8 file to the fp32 model on held-back sentences"),
)
BENCH_GATES = (
    Gate("min_retention", "bench", "the student's STS test Spearman, % of the teacher's", _retention,
         GateNeeds.TEACHER),
    Gate("max_p95_ms", "bench", "batch-1 p95 latency per profile ('*' for all)", _p95),
    Gate("max_size_mb", "bench", "size of the int8 file a profile runs", _size),
    Gate("max_latency_ratio", "bench", "head-to-head median batch-1 p50 / the bench.against model's",
         _latency_ratio, GateNeeds.AGAINST),
    Gate("min_throughput_ratio", "bench", "head-to-head median batch-32 throughput / the bench.against model's",
         _throughput_ratio, GateNeeds.AGAINST),
    Gate("min_retrieval_retention", "bench", "nDCG@10 of the student's queries and documents, % of the teacher's, "
         "per retrieval set ('*' for all)", _retrieval_retention, GateNeeds.TEACHER, per_set=True),
    Gate("min_index_retention", "bench", "nDCG@10 of the student's queries against the teacher's documents, % of "
         "teacher->teacher, per retrieval set ('*' for all)", _index_retention, GateNeeds.TEACHER, per_set=True),
)
BENCH_GATE_KEYS = tuple(g.name for g in BENCH_GATES)


def is_set(value: Any) -> bool:
    """A threshold that is on (None and an empty per-set table are off)."""
    return value is not None and value != {}


def check(entries: list[Entry], settings: GateSettings) -> list[str]:
    """What failed: a model that could not run, and each set gate on each gated result."""
    failed = [f"{e['model']} on {e['profile']}: not measured ({e.get('error') or e.get('status')})"
              for e in entries if e.get("status") == "error"]
    for e in entries:
        gated = e["model"] in settings.models if settings.models is not None else not e.get("teacher")
        if e.get("status") != "ok" or not gated:
            continue
        for gate in BENCH_GATES:
            value = settings.thresholds.get(gate.name)
            if is_set(value) and gate.judge is not None:
                failed += [f"{e['model']} on {e['profile']}: {f}" for f in gate.judge(e, value, settings)]
    return failed


def judge(entries: list[Entry], settings: GateSettings, edge: list[Entry] | None = None) -> dict[str, Any]:
    """The ``gates`` section of bench.json: the thresholds, what failed, and whether all passed. An edge profile
    that could not run its artifact fails too (its timing is never gated on)."""
    failed = check(entries, settings)
    failed += [f"{e['model']} could not run on {e['profile']}: {e.get('error') or e.get('status')}"
               for e in edge or [] if e.get("status") != "ok"]
    return {"config": settings.to_dict(), "failed": failed, "passed": not failed}
