"""The release folder: the servable ONNX artifact at the top, the student, the benchmark, the report, the manifest.

Layout: the export artifact (tokenizer, config, ``onnx/*.onnx``, ``export_report.json``), ``student/`` (the
sentence-transformers folder with ``distill_report.json``), ``bench/bench.json`` and ``bench/bench.md``,
``pareto.png``, ``report.json``, ``report.md`` and ``manifest.json`` (sha256 of every file, the resolved config,
versions, metrics, gate results). It is built under a temporary name beside the target and renamed when complete.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.bench.bench_report import markdown as bench_markdown
from compress.config import Config
from compress.gates import judge
from compress.io import building_dir, write_json_atomic, write_text_atomic
from compress.run.release_report import STUDENT, card_scores, collect_gates, metrics, report_markdown
from compress.run.stages import StageOutcome
from export.artifact.manifest import MANIFEST, artifact_sections, write_manifest
from export.card import write_card


@dataclass(frozen=True)
class Stages:
    distill: StageOutcome
    export: StageOutcome
    bench: StageOutcome

    def summary(self) -> dict[str, Any]:
        return {s.name: s.summary() for s in (self.distill, self.export, self.bench)}


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _fill(tmp: Path, stages: Stages) -> None:
    model = stages.export.folder / "model"
    for item in model.iterdir():
        if item.name == MANIFEST:
            continue
        if item.is_dir():
            shutil.copytree(item, tmp / item.name)
        else:
            shutil.copy2(item, tmp / item.name)
    shutil.copytree(stages.distill.folder / "student", tmp / "student")
    shutil.copy2(stages.bench.folder / "pareto.png", tmp / "pareto.png")


def assemble(config: Config, out_dir: Path, stages: Stages, command: str, kind: str,
             budget: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the release folder; return the summary that ``compress run --json`` prints. ``budget``: how
    ``train.budget_minutes`` chose the sample and epochs (``compress.distill.budget``), reported beside the stages."""
    distill_report = _read(stages.distill.folder / "student" / "distill_report.json")
    export_manifest = _read(stages.export.folder / "model" / MANIFEST)
    export_report = _read(stages.export.folder / "model" / "export_report.json")
    bench = _read(stages.bench.folder / "bench.json")
    # Gates are judged now, with this config's thresholds: changing one does not re-measure anything.
    bench["gates"] = judge(bench["results"], config.bench.gate_settings((STUDENT,)), bench.get("edge"))
    gates = collect_gates(export_report, bench)
    numbers = metrics(distill_report, export_report, bench)
    report = {"schema": "st-compress/run_report/1", "command": command, "passed": gates["passed"],
              "gates": gates, "metrics": numbers, "stages": stages.summary(), "machine": bench["machine"],
              "config": config.to_dict(), **({"budget": budget} if budget else {})}
    with building_dir(out_dir) as tmp:
        _fill(tmp, stages)
        (tmp / "bench").mkdir()
        write_json_atomic(tmp / "bench" / "bench.json", bench)
        write_text_atomic(tmp / "bench" / "bench.md", bench_markdown(bench))
        write_json_atomic(tmp / "report.json", report)
        write_text_atomic(tmp / "report.md", report_markdown(report, bench))
        write_card(tmp, export_report, out_dir.name, card_scores(numbers))
        write_manifest(tmp, {**artifact_sections(export_manifest), "kind": kind,
                             "status": "passed" if gates["passed"] else "failed", "passed": gates["passed"],
                             "gates": gates, "metrics": numbers, "config": config.to_dict(),
                             "stages": stages.summary()})
    return {"out_dir": str(out_dir), "passed": gates["passed"], "gates": gates, "metrics": numbers,
            "stages": stages.summary(), **({"budget": budget["choice"]} if budget else {})}
