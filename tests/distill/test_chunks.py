"""The teacher cache's chunk plan as one rank of several sees it (the collectives stubbed: one process plays a rank)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compress import dist
from compress.distill import chunks
from compress.errors import CompressError


def as_rank(monkeypatch: pytest.MonkeyPatch, rank: int, world: int) -> None:
    monkeypatch.setattr(dist, "ranks", lambda: dist.Ranks(rank, world, rank))
    monkeypatch.setattr(dist, "barrier", lambda: None)
    monkeypatch.setattr(dist, "from_main", lambda value: "token")
    monkeypatch.setenv(chunks.SHARED_ENV, "0.3")


def plan(folder: Path, texts: int = 10, size: int = 3) -> chunks.ChunkPlan:
    return chunks.ChunkPlan(folder, texts, size, lambda c: folder / f"{c}.done")


def test_a_rank_that_sees_no_other_rank_stops_before_embedding(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    as_rank(monkeypatch, 1, 2)
    (tmp_path / "plan.json").write_text('{"texts": 10, "chunk_size": 3}')  # rank 0 made the folder
    with pytest.raises(CompressError, match=r"sees no marker of rank\(s\) 0") as info:
        plan(tmp_path).start("teacher embeddings")
    assert "filesystem every node mounts" in str(info.value)


def test_ranks_split_the_missing_chunks_round_robin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "ranks" / "token"
    marks.mkdir(parents=True)
    for rank in range(2):
        (marks / str(rank)).write_text("node")
    (tmp_path / "1.done").touch()  # finished by an earlier run
    (tmp_path / "plan.json").write_text('{"texts": 10, "chunk_size": 3}')
    as_rank(monkeypatch, 1, 2)
    assert plan(tmp_path).start("x") == [3]  # 4 chunks: rank 1's are 1 (on disk) and 3
    as_rank(monkeypatch, 0, 2)
    (marks / "0").write_text("node")  # rank 0 removed the markers after the check; the stub's token repeats
    (marks / "1").write_text("node")
    assert plan(tmp_path).start("x") == [0, 2]


def test_more_ranks_than_chunks_leaves_the_extra_ranks_idle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "ranks" / "token"
    marks.mkdir(parents=True)
    for rank in range(8):
        (marks / str(rank)).write_text("node")
    (tmp_path / "plan.json").write_text('{"texts": 10, "chunk_size": 3}')
    as_rank(monkeypatch, 6, 8)
    assert plan(tmp_path).start("x") == []
    as_rank(monkeypatch, 2, 8)
    assert plan(tmp_path).start("x") == [2]


def test_finish_names_a_chunk_no_rank_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_rank(monkeypatch, 0, 2)
    for c in (0, 1, 3):
        (tmp_path / f"{c}.done").touch()
    with pytest.raises(CompressError, match=r"1 chunk\(s\) missing .*first: 2\.done"):
        plan(tmp_path).finish(lambda: None)
