"""Benchmark results as files, for the scripts in ``benchmarks/``: the data-folder argument they share, the command
line that reproduces a result, and the JSON + Markdown pair written atomically into a results folder."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from compress.io import write_json_atomic, write_text_atomic

DEFAULT_DATA = Path("../shared/data")


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """``--data``: the shared data folder (stsb/, corpus/, retrieval/), beside the repo by default."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the data folder: stsb/, corpus/sentences.txt.gz, retrieval/ (default: ../shared/data)")


def command_line(script: str, argv: list[str] | None = None) -> str:
    """The command that reproduces this run: ``python benchmarks/<script>.py <its arguments>``."""
    return f"python benchmarks/{Path(script).name} " + shlex.join(sys.argv[1:] if argv is None else argv)


def results_dir(script: str) -> Path:
    """The ``results/`` folder beside a benchmark script."""
    return Path(script).resolve().parent / "results"


def write_results(folder: Path, name: str, doc: dict[str, Any], markdown: str) -> Path:
    """``<folder>/<name>.json`` and ``<name>.md``, each written atomically (the folder is made); the JSON's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    write_json_atomic(path, doc)
    write_text_atomic(folder / f"{name}.md", markdown)
    return path
