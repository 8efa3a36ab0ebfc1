"""``compress run``: distill -> export (optimize, quantize, gate) -> bench -> report, each stage resumable.

Every stage writes into its content-addressed folder under ``<cache_dir>/stages`` (see ``compress.run.stages``);
the release folder is then assembled from them under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress import dist
from compress.config import Config
from compress.run.assemble import Stages, assemble
from compress.run.keys import StageKeys, stage_keys
from compress.run.release_report import STUDENT
from compress.run.stages import StageOutcome, StageStore
from export.artifact.manifest import check_replaceable

RUN_KIND = "run"


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: dict[str, Any]  # what `compress run --json` prints

    @property
    def passed(self) -> bool:
        return bool(self.summary["passed"])

    @property
    def failed(self) -> list[str]:
        return list(self.summary["gates"]["failed"])


def check_run_out_dir(out_dir: Path) -> None:
    """Only an empty folder or an earlier ``compress run`` artifact may be replaced."""
    check_replaceable(out_dir, "kind", RUN_KIND, "something that is not a compress run artifact",
                      "choose a new or empty folder for --out / output.dir, or remove that one")


def preflight(config: Config, out_dir: Path) -> None:
    """Every path, data file and layer index, before anything is written: a bad one is exit 2 in seconds."""
    from compress.bench.sets import check_eval_sets
    from compress.bench.stage import check_profiles
    from compress.data import corpus_of, load_sts
    from compress.preflight import check_config_inputs, check_output_dir

    check_run_out_dir(out_dir)
    check_output_dir(out_dir, "release folder (--out / output.dir)")
    check_output_dir(Path(config.output.cache_dir), "output.cache_dir")
    check_config_inputs(config)
    check_eval_sets(config)
    check_profiles(config, [t.value for t in config.export.targets])
    data = config.data
    corpus_of(data)
    for path in {data.sts_dev, data.sts_test, data.sts_train if config.loss.weight("task") > 0 else None} - {None}:
        load_sts(Path(str(path)))


def run_pipeline(config: Config, out_dir: Path, command: str) -> RunResult:
    """The whole run; under torchrun every rank fills its share of the teacher cache and trains (DDP), and rank 0
    alone exports, benchmarks and writes the release while the others wait for its summary."""
    from compress.distill.budget import budgeted

    here = dist.start()
    preflight(config, out_dir)
    store = StageStore(Path(config.output.cache_dir) / "stages")
    with ExitStack() as stack:
        dist.main_only(lambda: _lock(stack, store))
        config, budget = budgeted(config)  # a budget becomes a pinned sample and epochs (probed in about a minute)
        keys = stage_keys(config)
        reused = dist.from_main(store.finished("distill", keys.distill) if here.main else None)
        distilled: StageOutcome | None = None
        if here.main:
            distilled = store.run("distill", keys.distill, lambda tmp: _distill(config, tmp))
        elif not reused:  # the other ranks fill the cache and train with rank 0; only rank 0 saves the student
            from compress.distill.stage import distill

            distill(config, Path(config.output.cache_dir) / "stages" / f".rank-{here.rank}")
        summary = dist.main_only(lambda: _release(config, out_dir, command, store, keys, distilled, budget))
    return RunResult(out_dir, summary)


def _lock(stack: ExitStack, store: StageStore) -> None:
    stack.enter_context(store.locked())


def _release(config: Config, out_dir: Path, command: str, store: StageStore, keys: StageKeys,
             distilled: StageOutcome | None, budget: dict[str, Any] | None) -> Any:
    """Rank 0, after distillation: export, benchmark, and the release folder; the run's summary."""
    if distilled is None:
        raise RuntimeError("the release is assembled on rank 0, which distills")
    if not distilled.reused and distilled.info.get("work_dir"):  # checkpoints only served resuming the stage
        shutil.rmtree(distilled.info["work_dir"], ignore_errors=True)
    exported = store.run("export", keys.export, lambda tmp: _export(config, distilled.folder / "student", tmp))
    benched = store.run("bench", keys.bench, lambda tmp: _bench(config, exported.folder / "model",
                                                                distilled.folder / "student", tmp, command))
    return assemble(config, out_dir, Stages(distilled, exported, benched), command, RUN_KIND, budget)


def _distill(config: Config, folder: Path) -> dict[str, Any]:
    from compress.distill.stage import distill

    result = distill(config, folder / "student")
    return {"sts_spearman": result.report["sts_spearman"],
            "work_dir": str(result.work_dir) if result.work_dir else None}


def _export(config: Config, student_dir: Path, folder: Path) -> dict[str, Any]:
    from export.stage import run_export

    result = run_export(config, student_dir, folder / "model")
    return {"passed": result.passed}


def _bench(config: Config, model_dir: Path, student_dir: Path, folder: Path, command: str) -> dict[str, Any]:
    from compress.bench.stage import run_bench_stage
    from compress.handoff import read_handoff

    handoff = read_handoff(student_dir)  # the sentences distillation held back
    doc = run_bench_stage(config, command, folder, subjects=[f"{STUDENT}={model_dir}"],
                          heldback=handoff.heldback if handoff else None)
    return {"measured": [f"{e['model']} on {e['profile']}: {e['status']}" for e in doc["results"]]}
