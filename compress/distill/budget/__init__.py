"""``[train] budget_minutes``: the corpus sample and the epochs sized from throughput measured on this machine.

``budgeted(config)`` probes the machine (``probe``), chooses ``data.max_sentences`` and ``train.epochs``
(``plan``), and returns the config with those two pinned and the budget removed: every stage key and the release's
recorded config are those of the pinned config, so running that config again (on any machine) reproduces the run
exactly, and reuses its cache. The choice is recorded in ``<cache_dir>/budget/<key>.json`` (the key hashes the
config): a resumed run reads it back instead of probing again, so a crash never changes the sample. Delete that
file to measure again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from compress.config import Config
from compress.dist import ranks
from compress.errors import ConfigError
from compress.io import write_json_atomic

log = logging.getLogger(__name__)

SCHEMA = "st-compress/distill/budget/1"


def record_path(config: Config) -> Path:
    from compress.io import digest

    return Path(config.output.cache_dir) / "budget" / f"{digest(config.key_dict())}.json"


def _plan(config: Config) -> dict[str, Any]:
    """Probe and choose (single process)."""
    from compress.data import load_sts
    from compress.data.corpus import unique_rows
    from compress.distill.budget.plan import choose
    from compress.distill.budget.probe import costs_of, measure
    from compress.machine import machine_info

    data = config.data
    dev_pairs = len(load_sts(Path(data.sts_dev))) if data.sts_dev else 0
    rows = len(unique_rows(Path(data.corpus), data.column))
    found = measure(config)
    budget_s = float(config.train.budget_minutes or 0) * 60
    choice = choose(budget_s, costs_of(found, config, dev_pairs), rows, data.validation_sentences)
    machine = machine_info()
    return {"schema": SCHEMA, "budget_minutes": config.train.budget_minutes, "choice": choice.to_dict(),
            "throughput": found.to_dict(), "corpus_sentences": rows,
            "machine": {k: machine[k] for k in ("cpu", "cores", "machine", "isa_flags")}}


def budgeted(config: Config) -> tuple[Config, dict[str, Any] | None]:
    """``config`` with ``train.budget_minutes`` turned into ``data.max_sentences`` and ``train.epochs`` (and the
    record of how); a config without a budget comes back as it is."""
    if config.train.budget_minutes is None:
        return config, None
    path = record_path(config)
    if path.is_file():
        record = json.loads(path.read_text())
        log.info("train.budget_minutes: reusing the choice recorded in %s (delete it to measure again)", path)
    elif ranks().distributed:
        raise ConfigError("train.budget_minutes is measured by a single process, and no choice is recorded for "
                          "this config yet", "run `compress run` once without torchrun (it records the choice), or "
                          "set data.max_sentences and train.epochs instead")
    else:
        record = _plan(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, record)
    choice = record["choice"]
    pinned = replace(config, data=replace(config.data, max_sentences=int(choice["max_sentences"])),
                     train=replace(config.train, epochs=float(choice["epochs"]), budget_minutes=None))
    estimate = sum(choice["estimate_s"].values()) / 60
    log.info("train.budget_minutes = %g: data.max_sentences = %d, train.epochs = %g (%s; distillation estimated at "
             "%.1f min); pin them with --set data.max_sentences=%d --set train.epochs=%g", config.train.budget_minutes,
             choice["max_sentences"], choice["epochs"], choice["rule"], estimate, choice["max_sentences"],
             choice["epochs"])
    return pinned, record
