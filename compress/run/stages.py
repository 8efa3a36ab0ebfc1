"""Content-addressed stage outputs: a stage's folder is named by the hash of its inputs and settings.

``<cache_dir>/stages/<stage>/<key>/`` appears, by a rename, only once the stage has finished (``stage.json`` inside);
a rerun whose key matches reuses it instead of running the stage. A run killed mid-stage leaves at most a ``.tmp-``
folder, removed by the next run, plus what the stage keeps to resume (teacher embedding chunks, checkpoints).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.io import write_json_atomic

log = logging.getLogger(__name__)

STAGE_FILE = "stage.json"
BuildFn = Callable[[Path], dict[str, Any]]


@dataclass(frozen=True)
class StageOutcome:
    name: str
    key: str
    folder: Path
    reused: bool
    seconds: float
    info: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "reused": self.reused, "seconds": round(self.seconds, 1)}


class StageStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One run at a time per cache: a second one would share (and clean) the first one's partial work."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.root, os.O_RDONLY)  # the folder itself is locked: no lock file is left behind
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CompressError(f"another compress run is using the cache {self.root.parent}",
                                    "wait for it to finish, or set output.cache_dir to another folder") from None
            self._clean_partial()
            yield
        finally:
            os.close(handle)

    def _clean_partial(self) -> None:
        for tmp in self.root.glob("*/.tmp-*"):
            log.info("removing the unfinished stage folder %s (an interrupted run)", tmp)
            shutil.rmtree(tmp, ignore_errors=True)

    def finished(self, name: str, key: str) -> bool:
        return (self.root / name / key / STAGE_FILE).is_file()

    def run(self, name: str, key: str, build: BuildFn) -> StageOutcome:
        """Reuse ``<name>/<key>`` when it is finished; else ``build`` it in a temporary folder and rename it."""
        final = self.root / name / key
        if (final / STAGE_FILE).is_file():
            record = json.loads((final / STAGE_FILE).read_text())
            log.info("stage %s: inputs unchanged (key %s), reusing %s", name, key, final)
            return StageOutcome(name, key, final, True, 0.0, record["info"])
        if final.exists():  # not ours to trust: no stage.json
            shutil.rmtree(final)
        tmp = self.root / name / f".tmp-{key}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        log.info("stage %s: running (key %s)", name, key)
        start = time.perf_counter()
        try:
            info = build(tmp)
        except BaseException:  # a stage that failed leaves nothing (a killed one: see _clean_partial)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        seconds = time.perf_counter() - start
        write_json_atomic(tmp / STAGE_FILE, {"stage": name, "key": key, "seconds": seconds, "info": info})
        os.replace(tmp, final)
        return StageOutcome(name, key, final, False, seconds, info)
