"""bench.json (versioned schema), bench.md (tables), the Pareto plot, and the gates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress.bench.pareto import pareto_plot
from compress.bench.retrieval.retrieval_report import retrieval_markdown
from compress.gates import GateSettings, judge
from compress.io import write_json_atomic, write_text_atomic
from compress.machine import machine_info, machine_line

SCHEMA = "st-compress/bench/2"  # 2: retrieval, index compatibility, more STS sets


def runs_on(entry: dict[str, Any]) -> str:
    """What a result ran: its ONNX file, else its runtime (torch, model2vec)."""
    return str(entry.get("file") or entry.get("kind", "torch"))


def _row(e: dict[str, Any]) -> str:
    if e.get("status") != "ok":
        return f"| {e['model']} | {e['profile']} | {e.get('status')} |" + " |" * 9
    lat, thr = e["latency_batch1"], e["throughput"]
    cos = e.get("cosine", {})
    return (f"| {e['model']} | {e['profile']} | {runs_on(e)} | {lat['total']['p50_ms']:.2f} | "
            f"{lat['total']['p95_ms']:.2f} | {lat['tokenize']['p50_ms']:.2f} | "
            + " | ".join(f"{v:.0f}" for v in thr.values())
            + f" | {e['cold_start_s']:.1f} | {e['peak_rss_mb']:.0f} | {e['size_mb']:.1f} | "
            f"{e.get('sts_spearman', float('nan')):.2f}{' †' if e.get('accuracy_from') else ''} | "
            f"{e.get('retention_percent', float('nan')):.1f} | "
            f"{cos.get('mean', float('nan')):.4f} / {cos.get('p5', float('nan')):.4f} |")


def results_markdown(doc: dict[str, Any], gates: bool = True) -> list[str]:
    """The results table, the note on copied accuracy, the head-to-head section and (``gates``) the gates."""
    sizes = " | ".join(f"b{b} sent/s" for b in doc["settings"]["batch_sizes"])
    lines = [f"| model | profile | file | b1 p50 ms | b1 p95 ms | tokenize p50 ms | {sizes} | cold start s | "
             "peak RSS MB | size MB | STS test | retention % | cosine mean / p5 |",
             "|---|---|---|" + "---:|" * (10 + len(doc["settings"]["batch_sizes"]))]
    lines += [_row(e) for e in doc["results"]]
    copied = sorted({e["accuracy_from"] for e in doc["results"] if e.get("accuracy_from")})
    if copied:
        lines += ["", f"† accuracy measured once per file, on the {', '.join(copied)} run of the same file (it "
                  "depends on the file, not on the threads)."]
    lines += runtime_markdown(doc)
    lines += head_to_head_markdown(doc)
    if gates:
        lines += ["", "Gates: " + ("all passed" if not doc["gates"]["failed"] else "FAILED"),
                  *[f"- {f}" for f in doc["gates"]["failed"]]]
    return lines


def runtime_markdown(doc: dict[str, Any]) -> list[str]:
    """Runtime, batch-32 throughput unsorted and length-sorted, the library's own whole-list call, and batch
    invariance (batch 1 vs 32, min cosine) of every result."""
    rows = [e for e in doc["results"] if e.get("status") == "ok"]
    if not rows:
        return []
    lines = ["", "Runtimes, padding and batch invariance: b32 as above (sentences in corpus order) and in "
             "length-sorted batches (as `serve` batches); \"as its users call it\" is one call over the whole list "
             "through the model's own library; batch invariance is the min cosine between a text's vector alone and "
             "in a batch of 32 (1.0: the same vector whatever its batch).", "",
             "| model | profile | runtime | b32 sent/s | b32 sorted sent/s | as its users call it | sent/s | "
             "batch-1 vs 32 min cosine |", "|---|---|---|---:|---:|---|---:|---:|"]
    for e in rows:
        call, inv = e.get("as_users_call") or {}, e.get("batch_invariance") or {}
        sorted_b32 = (e.get("throughput_sorted") or {}).get("32")
        lines.append(f"| {e['model']} | {e['profile']} | {e.get('runtime', '')} | "
                     f"{_num(e['throughput'].get('32'), 0)} | {_num(sorted_b32, 0)} | "
                     f"`{call.get('call', 'n/a')}` | {_num(call.get('per_s'), 0)} | "
                     f"{_num(inv.get('min_cosine'), 6)}{' †' if e.get('accuracy_from') else ''} |")
    return lines


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _edge_row(e: dict[str, Any], mode: str, m: dict[str, Any]) -> str:
    agree, timing, cos = m["agreement"], m["timing"], m.get("cosine", {})
    mark = " (emulated)" if timing["emulated"] else ""
    speed = f"{_num(timing['latency_batch1'].get('p50_ms'), 1)}{mark} | {_num(timing['throughput'].get('32'), 0)}{mark}"
    return (f"| {e['model']} | {e['profile']} | {e['runtime']} | {mode} | {e['file']} | "
            f"{_num(m.get('sts_spearman'), 2)} | {_num(agree.get('sts_delta'), 3)} | "
            f"{_num(m.get('retention_percent'), 1)} | {_num(cos.get('mean'), 4)} | {agree['min_cosine']:.6f} | "
            f"{agree['max_abs_diff']:.1e} | {speed} |")


def edge_markdown(doc: dict[str, Any]) -> list[str]:
    """The edge profiles' table: accuracy in the edge runtime, and agreement with onnxruntime in Python on this
    host running the same file on the same texts in the same batches."""
    edge = doc.get("edge") or []
    if not edge:
        return []
    lines = ["", "## Edge runtimes", "",
             "Each artifact file run in the runtime its users load it in, and by onnxruntime in Python on this host on "
             "the same texts (STS-B test, then held-back sentences) in the same batches of 32. Δ STS and the "
             "agreement columns are against that Python run. Timing under emulation is the emulator's, not a "
             "device's: it is marked (emulated) and never gated on.", "",
             "| model | profile | runtime | mode | file | STS test | Δ STS vs Python | retention % | cosine to teacher "
             "| min cosine vs Python | max abs diff | b1 p50 ms | b32 sent/s |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in edge:
        if e.get("status") != "ok":
            lines.append(f"| {e['model']} | {e['profile']} | {e.get('error') or e.get('status')} |" + " |" * 10)
            continue
        lines += [_edge_row(e, mode, m) for mode, m in e["modes"].items()]
    devices = sorted({f"`{e['profile']}`: {e['device']}" for e in edge if e.get("device")})
    return [*lines, "", "Profiles: " + "; ".join(devices) + "."]


def markdown(doc: dict[str, Any]) -> str:
    lines = [f"# Benchmark ({doc['schema']})", "", f"Command: `{doc['command']}`", "", machine_line(doc["machine"]),
             "", *results_markdown(doc), *retrieval_markdown(doc), *edge_markdown(doc)]
    return "\n".join(lines) + "\n"


def spread(r: dict[str, float], unit: str = "x") -> str:
    """A head-to-head ratio: median [quartiles] over the rounds."""
    return f"{r['median']:.2f}{unit} [{r['q1']:.2f}, {r['q3']:.2f}]"


def head_to_head_markdown(doc: dict[str, Any]) -> list[str]:
    """The ``bench.against`` section: per model and profile, median [quartiles] of the per-round ratios."""
    paired = doc["settings"].get("head_to_head")
    rows = [e for e in doc["results"] if "head_to_head" in e]
    if not paired or not rows:
        return []
    against = paired["against"]
    lines = ["", f"## Head-to-head against {against}", "",
             f"Per profile, the models that ran there loaded into one process and measured in interleaved rounds "
             f"({paired['processes']} fresh processes x {paired['rounds']} rounds; each round {paired['calls']} "
             f"batch-1 calls and {paired['batches']} batches of {paired['batch']} per model, in rotating order, on "
             f"the same sentences). Ratios are taken within a round: median [quartiles] over all rounds. Use these, "
             "not the table above, to compare speed: one process per model moves 25-80% between runs on a small "
             "shared machine.", "",
             f"| model | profile | b1 p50 ms | b{paired['batch']} sent/s | b1 p50 / {against} | "
             f"b{paired['batch']} throughput / {against} |", "|---|---|---:|---:|---:|---:|"]
    for e in rows:
        h = e["head_to_head"]
        if "error" in h:
            lines.append(f"| {e['model']} | {e['profile']} | {h['error']} | | | |")
        else:
            lines.append(f"| {e['model']} | {e['profile']} | {h['b1_p50_ms']:.2f} | {h['throughput']:.0f} | "
                         f"{spread(h['latency_ratio'])} | {spread(h['throughput_ratio'])} |")
    return lines


def write_outputs(out_dir: Path, entries: list[dict[str, Any]], settings: dict[str, Any], gates: GateSettings,
                  command: str, edge: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``edge``: the edge profiles' entries (``compress.bench.edge``), kept apart from ``results``: their timing
    is not comparable with the native rows (and under emulation not a device's at all)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"schema": SCHEMA, "command": command, "machine": machine_info(), "settings": settings,
           "results": entries, "edge": edge or [], "gates": judge(entries, gates, edge)}
    write_json_atomic(out_dir / "bench.json", doc)
    write_text_atomic(out_dir / "bench.md", markdown(doc))
    pareto_plot(entries, out_dir / "pareto.png", settings.get("pareto_accuracy", "sts"))
    return doc
