"""Which chunks of a teacher cache this process fills, and the checks that keep ranks from mixing a cache.

A cache is cut into chunks of ``size`` texts; chunk ``i`` belongs to rank ``i % world`` (every chunk to a single
process). A chunk is done when its file exists (written to a temporary name, flushed, renamed), so a killed rank
loses only the chunk it was writing, and a resume with another number of ranks fills exactly the missing ones.
``plan.json`` records the chunking the folder was started with: a rerun with another ``teacher.chunk_size`` would
cut the texts elsewhere, and is refused. Under torchrun every rank first leaves a marker in the folder and looks
for the others': a rank that cannot see them after ``SHARED_WAIT`` seconds is on a filesystem the others do not
share, and stops with an error instead of filling a cache of its own.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from compress import dist
from compress.errors import CompressError
from compress.io import write_json_atomic

log = logging.getLogger(__name__)

SHARED_ENV = "ST_COMPRESS_SHARED_WAIT"  # seconds to wait for the other ranks' files to appear (default 60)


def shared_wait() -> float:
    return float(os.environ.get(SHARED_ENV, "60"))


def _wait_for(paths: list[Path], seconds: float) -> list[Path]:
    """Wait until every path exists or ``seconds`` pass (a network filesystem shows new files late); the missing."""
    deadline = time.monotonic() + seconds
    missing = [p for p in paths if not p.exists()]
    while missing and time.monotonic() < deadline:
        time.sleep(0.2)
        missing = [p for p in missing if not p.exists()]
    return missing


class ChunkPlan:
    def __init__(self, folder: Path, texts: int, size: int, done: Callable[[int], Path]) -> None:
        self.folder, self.texts, self.size = folder, texts, size
        self.chunks = (texts + size - 1) // size
        self.done_path = done  # the file whose presence marks chunk i done

    def bounds(self, chunk: int) -> tuple[int, int]:
        return chunk * self.size, min((chunk + 1) * self.size, self.texts)

    def texts_in(self, chunks: list[int]) -> int:
        """How many texts ``chunks`` hold (a progress bar's total)."""
        return sum(stop - start for start, stop in map(self.bounds, chunks))

    def start(self, what: str) -> list[int]:
        """Check the folder (chunking, shared between ranks) and return this rank's missing chunks."""
        here = dist.ranks()
        if here.main:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._check_plan()
        dist.barrier()
        if not here.main:
            self._check_plan()
        if here.distributed:
            self._check_shared(dist.from_main(uuid.uuid4().hex))
        on_disk = sum(self.done_path(c).exists() for c in range(self.chunks))
        if on_disk and here.main:
            log.info("%s: resuming, %d of %d chunks on disk", what, on_disk, self.chunks)
        mine = [c for c in range(here.rank, self.chunks, here.world) if not self.done_path(c).exists()]
        if here.distributed:
            log.info("%s: rank %d of %d embeds %d chunks", what, here.rank, here.world, len(mine))
        return mine

    def _check_plan(self) -> None:
        path = self.folder / "plan.json"
        plan = {"texts": self.texts, "chunk_size": self.size}
        if not path.exists():
            write_json_atomic(path, plan)
            return
        found = json.loads(path.read_text())
        if found != plan:
            raise CompressError(
                f"{self.folder}: this unfinished cache was started with chunk_size {found['chunk_size']} for "
                f"{found['texts']} texts, this run cuts {self.texts} texts into chunks of {self.size}",
                f"set teacher.chunk_size = {found['chunk_size']} to resume it, or delete {self.folder}")

    def _check_shared(self, token: str) -> None:
        here = dist.ranks()
        marks = self.folder / "ranks" / token
        marks.mkdir(parents=True, exist_ok=True)
        (marks / str(here.rank)).write_text(os.uname().nodename)
        dist.barrier()
        missing = _wait_for([marks / str(r) for r in range(here.world)], shared_wait())
        if missing:
            raise CompressError(
                f"rank {here.rank} sees no marker of rank(s) {', '.join(p.name for p in missing)} in "
                f"{self.folder} after {shared_wait():.0f} s: the cache folder is not shared between the ranks",
                "put output.cache_dir on a filesystem every node mounts (the same path on each)")
        dist.barrier()
        if here.main:
            shutil.rmtree(marks, ignore_errors=True)

    def finish(self, assemble: Callable[[], None]) -> None:
        """Wait for every rank's chunks; rank 0 checks them all and ``assemble``s the finished cache."""
        dist.barrier()
        if dist.ranks().main:
            missing = _wait_for([self.done_path(c) for c in range(self.chunks)], shared_wait())
            if missing:
                raise CompressError(f"{self.folder}: {len(missing)} chunk(s) missing after every rank finished "
                                    f"(first: {missing[0].name})",
                                    "put output.cache_dir on a filesystem every node mounts, then rerun")
            assemble()
        dist.barrier()
