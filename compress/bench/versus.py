"""``bench.against``: every model measured head-to-head with one reference, per profile, in one process.

The per-model rows of ``compress bench`` come from one process per model; on a shared machine their batch-1 p50 moves
25-80% from one process to the next, so a ratio of two rows can say 0.5x in one run and 0.9x in the next. Here
the models that ran on a profile are loaded together and measured in interleaved rounds
(``compress.bench.paired``), and each gets the median and quartiles of its per-round ratio to the reference:
the number to gate a release on (``bench.max_latency_ratio``, ``bench.min_throughput_ratio``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from compress.bench.harness import ModelSpec
from compress.bench.paired import PairedSettings, ratios, run_paired
from compress.errors import CompressError, ConfigError
from compress.profiles import Profile

log = logging.getLogger(__name__)


def check_reference(against: str, models: list[ModelSpec]) -> None:
    """Before anything is measured: the reference must be one of the models."""
    labels = [m.label for m in models]
    if against not in labels:
        raise ConfigError(f"config key 'bench.against' names '{against}', which is not a model of this benchmark",
                          "use one of these labels: " + ", ".join(labels))


def head_to_head(entries: list[dict[str, Any]], models: list[ModelSpec], profiles: list[Profile],
                 sentences: list[str], settings: PairedSettings, against: str, folder: Path) -> None:
    """Add ``head_to_head`` to every entry (but the reference's) of a profile where the reference ran."""
    by_label = {m.label: m for m in models}
    for profile in profiles:
        ran = [e for e in entries if e["profile"] == profile.name and e.get("status") == "ok"]
        others = [e for e in ran if e["model"] != against]
        if not others:
            continue
        results = versus(profile, [by_label[e["model"]] for e in ran], sentences, settings, against, folder)
        for e in others:
            e["head_to_head"] = results[e["model"]]


def versus(profile: Profile, models: list[ModelSpec], sentences: list[str], settings: PairedSettings,
           against: str, folder: Path) -> dict[str, dict[str, Any]]:
    """label -> its ratios to ``against`` on ``profile`` (or the reason there are none)."""
    base = {"against": against, "batch": settings.batch, "processes": settings.processes,
            "rounds": settings.rounds}
    if against not in {m.label for m in models}:
        return {m.label: {**base, "error": f"{against} did not run on {profile.name}"} for m in models}
    log.info("head-to-head on %s: %d models, %d processes x %d rounds", profile.name, len(models),
             settings.processes, settings.rounds)
    try:
        rounds = run_paired(models, profile, sentences, settings, folder)
    except CompressError as exc:  # recorded, not raised: the per-model results are still worth writing
        return {m.label: {**base, "error": exc.message} for m in models}
    summary = ratios([r["models"] for r in rounds], against)
    return {label: {**base, **values} for label, values in summary.items()}
