"""Named crash points, so tests can kill a real run with SIGKILL at a chosen moment (not only at a lucky one).

``ST_COMPRESS_KILL_AT=<name>`` makes the process SIGKILL itself the first time it reaches ``crash_point(name)``.
Unset (always, outside tests) it does nothing. Points: ``teacher-chunk`` (a teacher embedding chunk is on disk),
``train-checkpoint`` (a training checkpoint is saved), ``quantized`` (one int8 file is written), ``bench-model``
(one model x profile is measured).
"""

from __future__ import annotations

import os
import signal

ENV = "ST_COMPRESS_KILL_AT"
RANK_ENV = "ST_COMPRESS_KILL_RANK"  # under torchrun: only this rank kills itself (default: every rank)


def crash_point(name: str) -> None:
    if os.environ.get(ENV) != name:
        return
    rank = os.environ.get(RANK_ENV)
    if rank is None or rank == os.environ.get("RANK", "0"):
        os.kill(os.getpid(), signal.SIGKILL)
