"""``report.json`` / ``report.md`` of a run: the gates, the numbers of every stage, and how the stages ran."""

from __future__ import annotations

from typing import Any

from compress.bench.bench_report import edge_markdown, results_markdown, runs_on
from compress.bench.retrieval.retrieval_report import retrieval_markdown
from compress.machine import machine_line

STUDENT = "student"  # the bench label of the artifact being released


def _score_text(score: dict[str, Any]) -> str:
    retention = score.get("retention_percent")
    kept = f"STS dev retention {retention:.2f}% of fp32, " if retention is not None else ""
    return f"{kept}cosine to fp32 {score['cosine_mean']:.4f}"


def collect_gates(export: dict[str, Any], bench: dict[str, Any]) -> dict[str, Any]:
    """Every int8 file's accuracy gate, the benchmark's gates on the student, and a student that could not run."""
    checks = [{"gate": f"int8 {name}", "passed": bool(q["passed"]), "detail": _score_text(q["score"])}
              for name, q in export["quantized"].items()]
    failed = [f"{c['gate']}: {c['detail']}" for c in checks if not c["passed"]]
    failed += list(bench["gates"]["failed"])  # a model that could not run is among them
    return {"passed": not failed, "failed": failed, "export": checks, "bench": bench["gates"]["config"]}


def _bench_rows(bench: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for e in bench["results"]:
        if e.get("status") != "ok":
            continue
        total = e["latency_batch1"]["total"]
        rows.append({"model": e["model"], "profile": e["profile"], "file": runs_on(e),
                     "teacher": bool(e.get("teacher")), "peer": bool(e.get("peer")),
                     "p50_ms": total["p50_ms"], "p95_ms": total["p95_ms"],
                     "batch32_per_s": e["throughput"].get("32"), "size_mb": e["size_mb"],
                     "sts_test": e.get("sts_spearman"), "retention_percent": e.get("retention_percent"),
                     "head_to_head": e.get("head_to_head"),  # bench.against: ratios from interleaved rounds
                     "retrieval": {n: {k: r.get(k) for k in ("ndcg@10", "retention_percent")}
                                   for n, r in (e.get("retrieval") or {}).items()},
                     "index": {n: {k: r.get(k) for k in ("ndcg@10", "retention_percent", "error")}
                               for n, r in (e.get("index") or {}).items()}})
    return rows


def _retrieval_line(row: dict[str, Any]) -> list[str]:
    """nDCG@10 per retrieval set, with retention and (same dims) index compatibility, for the model card."""
    parts = []
    for name, r in row.get("retrieval", {}).items():
        index = row.get("index", {}).get(name, {})
        swap = (f"; its queries against the teacher's index {_fmt(index.get('ndcg@10'))} "
                f"({_fmt(index.get('retention_percent'), '.1f')}%)" if index.get("ndcg@10") is not None else "")
        parts.append(f"{name} {_fmt(r.get('ndcg@10'))} ({_fmt(r.get('retention_percent'), '.1f')}% of the "
                     f"teacher's{swap})")
    return [f"Retrieval nDCG@10 (x100, `{row['file']}`): " + "; ".join(parts) + ".", ""] if parts else []


def _share(value: float | None, reference: float | None) -> str:
    """``value (x%)`` of the reference, or "-"."""
    if value is None:
        return "-"
    return f"{value:.2f} ({100 * value / reference:.1f}%)" if reference else f"{value:.2f}"


def _glance_row(row: dict[str, Any], sets: list[str], teacher: dict[str, Any] | None) -> str:
    ref = {n: (teacher or {}).get("retrieval", {}).get(n, {}).get("ndcg@10") for n in sets}
    alone = [_share(row["retrieval"].get(n, {}).get("ndcg@10"), ref[n]) for n in sets]
    if row["teacher"]:
        index = alone
    else:
        scored = {n: row["index"].get(n, {}).get("ndcg@10") for n in sets}  # None: another space, or not measured
        index = ["another space: cannot" if row["index"].get(n, {}).get("error") else _share(scored[n], ref[n])
                 for n in sets]
    name = "this model" if row["model"] == STUDENT else row["model"]
    cells = [f"{name} (`{row['file']}`)", *index, *alone, _fmt(row["sts_test"]), f"{row['p50_ms']:.2f}",
             _fmt(row["batch32_per_s"], ".0f"), f"{row['size_mb']:.1f}"]
    return "| " + " | ".join(cells) + " |"


def glance(m: dict[str, Any]) -> list[str]:
    """The report's "At a glance" section (``glance_body``), or nothing when no model was measured."""
    body = glance_body(m)
    return ["## At a glance", "", *body] if body else []


def glance_body(m: dict[str, Any]) -> list[str]:
    """What the release is for, first: its queries searching the teacher's document index, then alone and on STS,
    beside the teacher and the peers (``bench.peers``), on the first profile measured. No heading: the report puts
    it under "At a glance", the model card under its "Scores"."""
    rows = m["bench"]
    if not rows:
        return []
    profile = rows[0]["profile"]
    shown = [r for r in rows if r["profile"] == profile and (r["teacher"] or r["peer"] or r["model"] == STUDENT)]
    sets = list(dict.fromkeys(n for r in shown for n in r["retrieval"]))
    teacher = next((r for r in shown if r["teacher"]), None)
    columns = [*(f"its queries on the teacher's index: {n}" for n in sets), *(f"alone: {n}" for n in sets),
               "STS-B test", "b1 p50 ms", "b32 sent/s", "MB"]
    head = ["| model | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    student = next((r for r in shown if r["model"] == STUDENT), None)
    lead = []
    if student and teacher and sets and student["index"]:
        kept = ", ".join(f"{n} {_fmt(student['index'].get(n, {}).get('retention_percent'), '.1f')}%" for n in sets)
        lead = [f"Embed queries with this model against documents the teacher embedded: it keeps {kept} of the "
                "teacher's own nDCG@10. Alone (its own documents too), and beside the models you might use "
                "instead:", ""]
    scores = "nDCG@10 x100 (% of the teacher's) per retrieval set, " if sets else ""
    return [*lead, f"{scores}STS-B test Spearman x100, and speed on {profile}:",
            "", *head, *(_glance_row(r, sets, teacher) for r in shown), ""]


def metrics(distill: dict[str, Any], export: dict[str, Any], bench: dict[str, Any]) -> dict[str, Any]:
    sts, student = distill["sts_spearman"], distill["student"]
    quantized = {name: {"target": q["target"], "passed": q["passed"], "size_mb": q["size_bytes"] / 1e6,
                        "sts_dev_spearman": q["score"]["sts_dev_spearman"],
                        "retention_percent": q["score"]["retention_percent"], "cosine_mean": q["score"]["cosine_mean"]}
                 for name, q in export["quantized"].items()}
    return {"distill": {"teacher": sts["teacher"], "student": sts["student"],
                        "retention_percent": sts["retention_percent"],
                        "heldback_cosine": distill["validation"].get("cosine"),
                        **{k: student.get(k) for k in ("parameters", "layers", "hidden_size", "dim")}},
            "export": {"fp32_sts_dev_spearman": export["fp32_sts_dev_spearman"], "quantized": quantized},
            "bench": _bench_rows(bench)}


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _distill_lines(m: dict[str, Any]) -> list[str]:
    d = m["distill"]
    lines = ["## Distillation (STS Spearman x100)", "", "| | STS-B dev | STS-B test |", "|---|---:|---:|"]
    for who in ("teacher", "student"):
        lines.append(f"| {who} | {_fmt(d[who].get('sts_dev'))} | {_fmt(d[who].get('sts_test'))} |")
    r = d["retention_percent"]
    lines += [f"| retention % | {_fmt(r.get('sts_dev'))} | {_fmt(r.get('sts_test'))} |", "",
              f"Student: {d['layers']} layers, hidden {d['hidden_size']}, {d['dim']}-dim, "
              f"{(d['parameters'] or 0) / 1e6:.1f}M parameters; held-back cosine to the teacher "
              f"{_fmt(d['heldback_cosine'], '.4f')}.", ""]
    return lines


def _export_lines(m: dict[str, Any]) -> list[str]:
    e = m["export"]
    lines = ["## Quantization (against the fp32 ONNX model)", "",
             f"fp32 STS-B dev: {_fmt(e['fp32_sts_dev_spearman'])}", "",
             "| file | target | size MB | STS dev | retention % | cosine | gate |", "|---|---|---:|---:|---:|---:|---|"]
    for name, q in e["quantized"].items():
        lines.append(f"| {name} | {q['target']} | {q['size_mb']:.1f} | {_fmt(q['sts_dev_spearman'])} | "
                     f"{_fmt(q['retention_percent'])} | {q['cosine_mean']:.4f} | {'pass' if q['passed'] else 'FAIL'} |")
    return [*lines, ""]


def card_scores(m: dict[str, Any]) -> list[str]:
    """The release's numbers for its model card: the distilled student beside the teacher, then each measured file."""
    d = m["distill"]
    lines = [*glance_body(m),
             f"STS-B test (Spearman x100): teacher {_fmt(d['teacher'].get('sts_test'))}, this model "
             f"{_fmt(d['student'].get('sts_test'))} in PyTorch ({_fmt(d['retention_percent'].get('sts_test'))}% "
             f"retained); held-back cosine to the teacher {_fmt(d['heldback_cosine'], '.4f')}.", ""]
    rows = [r for r in m["bench"] if r["model"] == STUDENT]
    lines += next((_retrieval_line(r) for r in rows if r.get("retrieval")), [])
    if rows:
        lines += ["| file | profile | STS test | retention % | b1 p50 ms | b32 sent/s |",
                  "|---|---|---:|---:|---:|---:|"]
        lines += [f"| `{r['file']}` | {r['profile']} | {_fmt(r['sts_test'])} | {_fmt(r['retention_percent'], '.1f')} | "
                  f"{r['p50_ms']:.2f} | {_fmt(r['batch32_per_s'], '.0f')} |" for r in rows]
        lines += ["", "Measured by `compress run` (see `report.md` and `bench/bench.md` beside this card)."]
    return lines


def _budget_lines(budget: dict[str, Any] | None) -> list[str]:
    """How ``train.budget_minutes`` was spent: what the probe measured, what it chose, the estimate."""
    if not budget:
        return []
    choice, found = budget["choice"], budget["throughput"]
    estimate = choice["estimate_s"]
    return ["## Budget", "",
            f"- train.budget_minutes = {budget['budget_minutes']:g}: data.max_sentences = {choice['max_sentences']}, "
            f"train.epochs = {choice['epochs']:g} ({choice['rule']}); the recorded config pins both",
            f"- measured: teacher {found['teacher_per_s']:.1f} sentences/s, training {found['train_per_s']:.1f} "
            f"sentences/s, student {found['student_per_s']:.0f} sentences/s (probe {found['probe_s']:.0f} s)",
            f"- estimated minutes: teacher {estimate['teacher'] / 60:.1f}, training {estimate['training'] / 60:.1f}, "
            f"fixed {estimate['fixed'] / 60:.1f} (the distill stage's actual seconds: Stages below)", ""]


def report_markdown(report: dict[str, Any], bench: dict[str, Any]) -> str:
    gates = report["gates"]
    lines = [f"# st-compress run: {'PASSED' if report['passed'] else 'FAILED'}", "", f"Command: `{report['command']}`",
             "", "## Gates", ""]
    lines += [f"- FAILED: {f}" for f in gates["failed"]] or ["- all gates passed"]
    configured = {k: v for k, v in gates["bench"].items() if v is not None and k != "models"}
    lines += [f"- bench gates on the student: {', '.join(f'{k}={v}' for k, v in configured.items()) or 'none set'}",
              ""]
    lines += glance(report["metrics"])
    lines += _budget_lines(report.get("budget")) + _distill_lines(report["metrics"]) + _export_lines(report["metrics"])
    lines += ["## Latency and accuracy (STS-B test)", "", machine_line(bench["machine"]), "",
              *results_markdown(bench), *retrieval_markdown(bench), *edge_markdown(bench), "", "## Stages", "",
              "| stage | key | reused | seconds |", "|---|---|---|---:|"]
    lines += [f"| {name} | {s['key']} | {'yes' if s['reused'] else 'no'} | {s['seconds']:.1f} |"
              for name, s in report["stages"].items()]
    lines += ["", "Serve it: `compress serve <this folder>`; check it: `compress verify <this folder>`.", ""]
    return "\n".join(lines)
