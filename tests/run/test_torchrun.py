"""``compress run`` under torchrun: 2 CPU processes (gloo) on the tiny models, a real launcher and real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from export.artifact.manifest import verify
from tests.conftest import REPO
from tests.run.conftest import Release, new_release


def torchrun(release: Release, procs: int = 2, kill_at: str | None = None,
             kill_rank: int | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true", "PYTHONPATH": str(REPO), "ST_COMPRESS_SHARED_WAIT": "10", **extra}
    env.pop("ST_COMPRESS_KILL_AT", None)
    if kill_at:
        env["ST_COMPRESS_KILL_AT"] = kill_at
        env["ST_COMPRESS_KILL_RANK"] = str(kill_rank)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs),
               "-m", "compress", "run", "--config", str(release.config), "--json"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)


def teacher_cache(release: Release) -> np.ndarray:
    (path,) = (release.cache / "teacher").glob("*/embeddings.f32")
    shape = json.loads((path.parent / "meta.json").read_text())["shape"]
    return np.fromfile(path, dtype=np.float32).reshape(shape)


@pytest.fixture(scope="module")
def two_procs(tmp_path_factory: pytest.TempPathFactory, tiny_teacher_dir: Path, corpus_file: Path,
              sts_file: Path) -> tuple[Release, subprocess.CompletedProcess[str]]:
    made = new_release(tmp_path_factory.mktemp("torchrun"), tiny_teacher_dir, corpus_file, sts_file)
    return made, torchrun(made)


def test_two_processes_make_the_single_process_cache_and_a_release_that_verifies(
        two_procs: tuple[Release, subprocess.CompletedProcess[str]], release: Release) -> None:
    made, done = two_procs
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)  # rank 0 alone prints it
    assert summary["passed"] is True
    assert verify(made.out) == []
    np.testing.assert_array_equal(teacher_cache(made), teacher_cache(release))  # bit-identical in fp32
    steps = [json.loads((r.out / "student" / "distill_report.json").read_text())["training"]["steps"]
             for r in (made, release)]
    # each rank takes every other batch of the epoch; under DDP sentence-transformers drops the last incomplete
    # batch and accelerate the last uneven turn: 180 sentences in batches of 16 are 11 full batches, 5 turns
    assert steps == [5, 12]


def test_each_rank_embedded_its_own_chunks(two_procs: tuple[Release, subprocess.CompletedProcess[str]]) -> None:
    made, done = two_procs
    log = done.stderr
    assert "rank 0 of 2 embeds 2 chunks" in log and "rank 1 of 2 embeds 2 chunks" in log
    assert not list((made.cache / "teacher").glob("*/chunks"))  # assembled by rank 0, chunk files removed
    assert not list((made.cache / "stages").glob("*/.tmp-*"))


def test_a_rank_killed_mid_cache_resumes_with_another_world_size(tmp_path: Path, tiny_teacher_dir: Path,
                                                                 corpus_file: Path, sts_file: Path,
                                                                 release: Release) -> None:
    made = new_release(tmp_path, tiny_teacher_dir, corpus_file, sts_file)
    killed = torchrun(made, kill_at="teacher-chunk", kill_rank=1)
    assert killed.returncode != 0
    assert not made.out.exists()
    on_disk = list((made.cache / "teacher").glob("*/chunks/*.npy"))
    assert 1 <= len(on_disk) < 4 and not list((made.cache / "teacher").glob("*/meta.json"))
    # one process resumes what two left: chunk i belonged to rank i % 2, now every missing one is rank 0's
    resumed = torchrun(made, procs=1)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming, {len(on_disk)} of 4 chunks on disk" in resumed.stderr
    np.testing.assert_array_equal(teacher_cache(made), teacher_cache(release))
    assert verify(made.out) == []
