"""``compress run`` on the tiny models, as a real subprocess (so that it can be killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, tiny_config_text, toy_retrieval_set

# Files whose bytes carry timings, paths or dates; every other file must be byte-identical between runs.
VOLATILE = {"README.md", "student/README.md", "distill_report.json", "student/distill_report.json",
            "export_report.json", "report.json", "report.md", "pareto.png", "bench/bench.json", "bench/bench.md",
            # onnxruntime's ORT-format converter is not byte-stable: the same .onnx converted twice in the same
            # folder gave three different sha256s (measured with onnxruntime 1.32)
            *(f"onnx/model_{kind}_{target}.ort" for kind in ("qint8", "qrow", "qdq")
              for target in ("avx512_vnni", "avx2", "arm64"))}


@dataclass(frozen=True)
class Release:
    config: Path
    out: Path
    cache: Path

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "manifest.json").read_text())
        return data


def write_run_config(folder: Path, teacher: Path, corpus: Path, sts: Path) -> Path:
    """The tiny distillation config plus export and benchmark settings that keep a whole run to seconds."""
    path = folder / "run.toml"
    toy = toy_retrieval_set(folder / "beir")
    path.write_text(tiny_config_text(teacher, corpus, sts, folder / "release", folder / "cache") + f"""
[export]
targets = ["avx512_vnni", "avx2", "arm64"]
min_retention = 50.0
min_cosine = 0.9
gate_sentences = 32
calibration_sentences = 16

[bench]
profiles = ["x86-server", "node"]
latency_calls = 5
warmup = 1
throughput_batches = 1
throughput_seconds = 0
heldback_sentences = 16
min_index_retention = {{ "*" = 1.0 }}

[bench.retrieval_sets]
toy = "{toy}"
""")
    return path


def run_compress(*args: str, kill_at: str | None = None, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true", "PYTHONPATH": str(REPO)}
    env.pop("ST_COMPRESS_KILL_AT", None)
    if kill_at:
        env["ST_COMPRESS_KILL_AT"] = kill_at
    flags = ["--quiet"] if quiet else []
    return subprocess.run([sys.executable, "-m", "compress", *flags, *args], capture_output=True, text=True,
                          env=env, timeout=600, cwd=REPO)


def new_release(folder: Path, teacher: Path, corpus: Path, sts: Path) -> Release:
    config = write_run_config(folder, teacher, corpus, sts)
    return Release(config, folder / "release", folder / "cache")


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory, tiny_teacher_dir: Path, corpus_file: Path,
            sts_file: Path) -> Release:
    """One uninterrupted run: the reference the other runs are compared with."""
    made = new_release(tmp_path_factory.mktemp("run"), tiny_teacher_dir, corpus_file, sts_file)
    done = run_compress("run", "--config", str(made.config))
    assert done.returncode == 0, done.stderr
    return made


@pytest.fixture()
def fresh(tmp_path: Path, tiny_teacher_dir: Path, corpus_file: Path, sts_file: Path) -> Release:
    """The same config as ``release`` with its own empty cache and output folder."""
    return new_release(tmp_path, tiny_teacher_dir, corpus_file, sts_file)
