"""``train.budget_minutes`` on this machine: what the probe measured and chose, and how close its estimate came.

For each budget: ``compress distill --set train.budget_minutes=N --out runs/budget-N`` (the package's CLI, the
default recipe; skipped when that folder already holds a finished student, so a row can be re-rendered), then the
choice recorded in the cache (``compress.distill.budget``) beside the distill report: the estimated minutes per part
(teacher pass, training with its evaluations, fixed) against the measured ones, and the student's STS-B dev and
held-back cosine. The budget covers distillation only: the probe's own minute, export and the benchmark come on top.

Reproduce (repo root, after scripts/setup.sh; about the budget's minutes plus two per row):
    .venv/bin/python benchmarks/budget.py --minutes 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from compress.bench.results import command_line, results_dir, write_results
from compress.config import load_config
from compress.distill.budget import record_path
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)


def distilled(minutes: float, out: Path) -> float | None:
    """Run the distill command unless ``out`` is finished; its wall seconds (None when it was already there)."""
    if (out / "distill_report.json").is_file():
        return None
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compress", "distill", "--set", f"train.budget_minutes={minutes:g}",
                    "--out", str(out)], check=True)
    return time.perf_counter() - start


def row(minutes: float, out: Path, wall: float | None) -> dict[str, Any]:
    record = json.loads(record_path(load_config(None, [f"train.budget_minutes={minutes:g}"])).read_text())
    report = json.loads((out / "distill_report.json").read_text())
    choice, timing, training = record["choice"], report["timing"], report["training"]
    teacher_s = timing["teacher_embedding_seconds"]
    actual = {"teacher": teacher_s, "training": training["seconds"],
              "fixed": timing["wall_seconds"] - teacher_s - training["seconds"]}
    return {"budget_minutes": minutes, "choice": choice, "throughput": record["throughput"],
            "actual_s": {k: round(v, 1) for k, v in actual.items()},
            "distill_minutes": round(timing["wall_seconds"] / 60, 2),
            "command_minutes": None if wall is None else round(wall / 60, 2),
            "sts_dev": report["sts_spearman"]["student"].get("sts_dev"),
            "heldback_cosine": report["validation"].get("cosine"), "student": str(out)}


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# train.budget_minutes: the choice, the estimate and the run", "",
             "Commands: " + "; ".join(f"`{c}`" for c in doc["commands"]), "", machine_line(doc["machine"]), "",
             "Each row: `compress distill --set train.budget_minutes=N` of the default recipe from an empty teacher "
             "cache. Estimated / actual minutes per part of the distill stage (fixed: loading, building the "
             "student, the final evaluation); the probe's own time and the command's wall time (loading, probe "
             "and distillation) beside them. STS-B dev x100; cosine to the teacher on the held-back sentences.",
             "", "| budget min | max_sentences | epochs | rule | teacher s/s | train s/s | teacher est / actual min | "
             "training est / actual min | fixed est / actual min | distill min | probe s | command min | "
             "STS-B dev | held-back cos |", "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["results"]:
        c, t, est, act = r["choice"], r["throughput"], r["choice"]["estimate_s"], r["actual_s"]
        parts = " | ".join(f"{est[k] / 60:.1f} / {act[k] / 60:.1f}" for k in ("teacher", "training", "fixed"))
        command = "" if r["command_minutes"] is None else f"{r['command_minutes']:.1f}"
        lines.append(f"| {r['budget_minutes']:g} | {c['max_sentences']} | {c['epochs']:g} | {c['rule']} | "
                     f"{t['teacher_per_s']:.1f} | {t['train_per_s']:.1f} | {parts} | {r['distill_minutes']:.1f} | "
                     f"{t['probe_s']:.0f} | {command} | {r['sts_dev']:.2f} | {r['heldback_cosine']:.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", required=True)
    parser.add_argument("--work", type=Path, default=Path("runs"))
    args = parser.parse_args()
    path = RESULTS / "budget.json"
    before = json.loads(path.read_text()) if path.exists() else {"commands": [], "results": []}
    rows = {r["budget_minutes"]: r for r in before["results"]}
    for minutes in args.minutes:
        out = args.work / f"budget-{minutes:g}"
        wall = distilled(minutes, out)
        measured = row(minutes, out, wall)
        if wall is None and minutes in rows:  # re-rendered: the earlier row's command time stands
            measured["command_minutes"] = rows[minutes]["command_minutes"]
        rows[minutes] = measured
    command = command_line(__file__)
    doc = {"commands": [c for c in before["commands"] if c != command] + [command], "machine": machine_info(),
           "results": [rows[m] for m in sorted(rows)]}
    write_results(RESULTS, "budget", doc, markdown(doc))
    print(json.dumps(doc["results"], indent=1))


if __name__ == "__main__":
    main()
