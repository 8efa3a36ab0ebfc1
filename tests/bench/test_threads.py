"""A profile's cores and threads hold for every runtime the harness loads, onnxruntime's default pool included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compress.profiles import PROFILES, Profile
from tests.conftest import REPO

# In a fresh process: pin to core 0 as the worker does, load the model the way the worker does, encode, and
# print the cores every thread of the process may run on.
PROBE = """
import json, os, sys
spec = json.loads(sys.argv[1])
from compress.bench.worker import LOADERS, pin
pin(spec)
tokenize, infer = LOADERS[spec["kind"]](spec)
for _ in range(3):
    infer(tokenize(["a sentence to embed"] * 16))
print(json.dumps(sorted({c for t in os.listdir("/proc/self/task") for c in os.sched_getaffinity(int(t))})))
"""

needs_two_cores = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a core to escape to")


def threads_run_on(spec: dict[str, object]) -> list[int]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(spec)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 0, done.stderr
    cores: list[int] = json.loads(done.stdout.strip().splitlines()[-1])
    return cores


def test_thread_count_follows_the_pinned_cores() -> None:
    assert PROFILES["edge-1core"].thread_count == 1 and PROFILES["x86-server"].thread_count is None
    assert Profile("pinned", threads=None, cores=(0, 1)).thread_count == 2


@needs_two_cores
def test_our_onnx_file_stays_on_a_one_core_profile(exported) -> None:
    spec = {"kind": "onnx", "path": str(exported.out_dir), "file": "onnx/model.onnx", "cores": [0],
            "threads": None}  # no thread count given: the encoder must still not leave core 0
    assert threads_run_on(spec) == [0]


@needs_two_cores
def test_sentence_transformers_onnx_backend_stays_on_a_one_core_profile(tiny_student_dir: Path,
                                                                        tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(str(tiny_student_dir), backend="onnx", device="cpu").save_pretrained(str(tmp_path))
    profile = PROFILES["edge-1core"]
    spec = {"kind": "st-onnx", "path": str(tmp_path), "file": "onnx/model.onnx", "cores": list(profile.cores or []),
            "threads": profile.thread_count}
    assert threads_run_on(spec) == [0]
