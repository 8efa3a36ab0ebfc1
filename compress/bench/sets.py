"""The named evaluation sets of ``[bench]``: STS pair files (``sts_sets``, beside ``data.sts_test``) and
retrieval sets in BEIR layout (``retrieval_sets``), read and checked before any model runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from compress.bench.retrieval.evaluate import RetrievalData
from compress.config import Config
from compress.data import StsPairs, load_sts
from compress.data.beir import RetrievalSet, load_beir
from compress.errors import CompressError

T = TypeVar("T")


@dataclass(frozen=True)
class EvalSets:
    sts: dict[str, StsPairs] = field(default_factory=dict)
    retrieval: list[RetrievalSet] = field(default_factory=list)


def load_eval_sets(config: Config) -> EvalSets:
    """Every set of ``[bench]``; an error names the config key, the file and the line."""
    bench = config.bench
    sts = {name: _named(f"bench.sts_sets.{name}", load_sts, path) for name, path in bench.sts_sets.items()}
    retrieval = [_named(f"bench.retrieval_sets.{name}", functools.partial(load_beir, name=name), path)
                 for name, path in bench.retrieval_sets.items()]
    return EvalSets(sts, retrieval)


def _named(key: str, load: Callable[[Path], T], path: str) -> T:
    try:
        return load(Path(path))
    except CompressError as exc:
        raise CompressError(f"config key '{key}': {exc.message}", exc.hint) from None


def retrieval_data(config: Config, sets: EvalSets) -> RetrievalData:
    """The retrieval sets with the embedding cache (``output.cache_dir``), the search of ``[bench]`` and the
    teacher's precision (bf16 autocast for PyTorch models where native)."""
    return RetrievalData(sets.retrieval, Path(config.output.cache_dir), config.bench.retrieval_search,
                         config.teacher.precision)


def eval_sets_settings(config: Config, sets: EvalSets) -> dict[str, Any]:
    """What bench.json records of the sets: their paths and sizes, and the search."""
    return {"sts_test": config.data.sts_test,
            "sts": {name: {"path": config.bench.sts_sets[name], "pairs": len(p)} for name, p in sets.sts.items()},
            "retrieval": {s.name: s.describe() for s in sets.retrieval},
            "search": config.bench.retrieval_search.value, "torch_precision": _torch_precision(config)}


def _torch_precision(config: Config) -> str:
    """The precision PyTorch models embed retrieval texts in on this host (bf16 autocast where native)."""
    from compress.precision import resolve

    return resolve(config.teacher.precision, "cpu").value


def check_eval_sets(config: Config) -> None:
    """Read and check ``[bench]``'s evaluation sets (a bad file is exit 2 before any work starts)."""
    load_eval_sets(config)
