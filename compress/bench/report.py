"""bench.json (versioned schema), bench.md (tables), the Pareto plot, and the gates."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from compress.io import write_json_atomic

SCHEMA = "st-compress/bench/1"


@dataclass(frozen=True)
class Gates:
    min_retention: float | None = None
    max_p95_ms: dict[str, float] | None = None  # per profile name; "*" for every profile
    max_size_mb: float | None = None
    models: tuple[str, ...] | None = None  # labels the gates apply to; None: every model but the teacher
    max_latency_ratio: float | None = None  # head-to-head medians against the `against` model
    min_throughput_ratio: float | None = None
    against: str | None = None


def machine_info() -> dict[str, Any]:
    from export.manifest import versions
    from serve.host import cpu_flags, cpu_model, host_target

    isa = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimd", "sse4_2"})
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(), "isa_flags": isa,
            "host_target": host_target(), "platform": platform.platform(), "versions": versions()}


def check_gates(entries: list[dict[str, Any]], gates: Gates) -> list[str]:
    failed = []
    for e in entries:
        gated = e["model"] in gates.models if gates.models is not None else not e.get("teacher")
        if e.get("status") != "ok" or not gated:
            continue
        who = f"{e['model']} on {e['profile']}"
        retention = e.get("retention_percent")
        if gates.min_retention is not None:
            if retention is None:
                failed.append(f"{who}: retention not measured (the teacher or the STS scores are missing)")
            elif retention < gates.min_retention:
                failed.append(f"{who}: retention {retention:.2f}% < {gates.min_retention}%")
        limits = gates.max_p95_ms or {}
        limit = limits.get(e["profile"], limits.get("*"))
        p95 = e["latency_batch1"]["total"]["p95_ms"]
        if limit is not None and p95 > limit:
            failed.append(f"{who}: batch-1 p95 {p95:.2f} ms > {limit} ms")
        if gates.max_size_mb is not None and e["size_mb"] > gates.max_size_mb:
            failed.append(f"{who}: size {e['size_mb']:.1f} MB > {gates.max_size_mb} MB")
        if e["model"] != gates.against:
            failed += [f"{who}: {f}" for f in _ratio_failures(e.get("head_to_head"), gates)]
    return failed


def _ratio_failures(versus: dict[str, Any] | None, gates: Gates) -> list[str]:
    """The head-to-head gates: medians over the rounds of the ratio to ``gates.against``."""
    if gates.max_latency_ratio is None and gates.min_throughput_ratio is None:
        return []
    if not versus or "latency_ratio" not in versus:
        reason = (versus or {}).get("error", "not measured")
        return [f"no head-to-head result against {gates.against} ({reason})"]
    failed = []
    latency, speed = versus["latency_ratio"]["median"], versus["throughput_ratio"]["median"]
    if gates.max_latency_ratio is not None and latency > gates.max_latency_ratio:
        failed.append(f"batch-1 p50 {latency:.2f}x {gates.against}'s > {gates.max_latency_ratio}x")
    if gates.min_throughput_ratio is not None and speed < gates.min_throughput_ratio:
        failed.append(f"batch-{versus['batch']} throughput {speed:.2f}x {gates.against}'s < "
                      f"{gates.min_throughput_ratio}x")
    return failed


def judge(entries: list[dict[str, Any]], gates: Gates) -> dict[str, Any]:
    """The ``gates`` section of bench.json: the thresholds, what failed, and whether all passed."""
    failed = check_gates(entries, gates)
    return {"config": asdict(gates), "failed": failed, "passed": not failed}


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


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    sizes = " | ".join(f"b{b} sent/s" for b in doc["settings"]["batch_sizes"])
    lines = [f"# Benchmark ({doc['schema']})", "", f"Command: `{doc['command']}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['machine']}, ISA {', '.join(m['isa_flags'])} "
             f"(int8 file for this host: {m['host_target']}).", "",
             f"| model | profile | file | b1 p50 ms | b1 p95 ms | tokenize p50 ms | {sizes} | cold start s | "
             "peak RSS MB | size MB | STS test | retention % | cosine mean / p5 |",
             "|---|---|---|" + "---:|" * (10 + len(doc["settings"]["batch_sizes"]))]
    lines += [_row(e) for e in doc["results"]]
    copied = sorted({e["accuracy_from"] for e in doc["results"] if e.get("accuracy_from")})
    if copied:
        lines += ["", f"† accuracy measured once per file, on the {', '.join(copied)} run of the same file (it "
                  "depends on the file, not on the threads)."]
    lines += head_to_head_markdown(doc)
    lines += ["", "Gates: " + ("all passed" if not doc["gates"]["failed"] else "FAILED"),
              *[f"- {f}" for f in doc["gates"]["failed"]]]
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
             "not the table above, to compare speed: one process per model moves 25-80% between runs here.", "",
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


def pareto_plot(entries: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6), dpi=100)
    for profile in sorted({e["profile"] for e in entries}):
        points = [e for e in entries if e["profile"] == profile and e.get("status") == "ok"]
        if not points:
            continue
        xs = [e["latency_batch1"]["total"]["p50_ms"] for e in points]
        ys = [e.get("sts_spearman", 0.0) for e in points]
        sizes = [30 + 3 * e["size_mb"] ** 0.8 for e in points]
        ax.scatter(xs, ys, s=sizes, alpha=0.6, label=profile)
        for x, y, e in zip(xs, ys, points, strict=True):
            ax.annotate(f"{e['model']}", (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("batch-1 latency p50 (ms, log scale)")
    ax.set_ylabel("STS test Spearman x100")
    ax.set_title("Accuracy vs latency (marker size ~ file size)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="profile")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_outputs(out_dir: Path, entries: list[dict[str, Any]], settings: dict[str, Any], gates: Gates,
                  command: str) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"schema": SCHEMA, "command": command, "machine": machine_info(), "settings": settings,
           "results": entries, "gates": judge(entries, gates)}
    write_json_atomic(out_dir / "bench.json", doc)
    (out_dir / "bench.md").write_text(markdown(doc))
    pareto_plot(entries, out_dir / "pareto.png")
    return doc
