"""Progress on stderr: a bar on a terminal; where nobody watches one (a script, CI: stderr is not a TTY), a log
line every ``LOG_EVERY_S`` seconds or ``LOG_EVERY_FRACTION`` of the work, with the rate and the time left.
``--quiet`` (``ST_COMPRESS_QUIET``) silences both."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger("compress.progress")

LOG_EVERY_S = 30.0
LOG_EVERY_FRACTION = 0.05


def quiet() -> bool:
    return bool(os.environ.get("ST_COMPRESS_QUIET"))


def progress_enabled(requested: bool = True) -> bool:
    """Whether to draw a progress bar: on a terminal, outside CI, unless quiet."""
    if not requested or os.environ.get("CI") or quiet():
        return False
    return sys.stderr.isatty()


def progress_logged(requested: bool = True) -> bool:
    """Whether to print progress as log lines instead: asked for, not quiet, and no bar is drawn."""
    return requested and not quiet() and not progress_enabled(requested)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class ProgressLog:
    """The log-line twin of a tqdm bar (``update``, ``close``)."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0) -> None:
        self.total, self.desc, self.unit = max(total, 1), desc, unit
        self.done = self.start_done = initial
        self.start = self.last = time.monotonic()
        self.next_mark = initial + self.total * LOG_EVERY_FRACTION

    def line(self, **extra: Any) -> str:
        elapsed = time.monotonic() - self.start
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        parts = [f"{self.desc}: {self.done:,}/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)",
                 f"{rate:,.1f} {self.unit}/s", *(f"{k} {v}" for k, v in extra.items())]
        if left is not None and self.done < self.total:
            parts.append(f"{_duration(left)} left")
        return ", ".join(parts)

    def update(self, n: int = 1, **extra: Any) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_S or self.done >= self.next_mark or self.done >= self.total:
            log.info(self.line(**extra))
            self.last = now
            while self.next_mark <= self.done:
                self.next_mark += self.total * LOG_EVERY_FRACTION

    def close(self) -> None:
        pass


class _Silent:
    def update(self, n: int = 1, **extra: Any) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool = True, unit: str = "sent", initial: int = 0) -> Any:
    if progress_enabled(enabled):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr, unit=unit, initial=initial)
    if progress_logged(enabled):
        return ProgressLog(total, desc, unit, initial)
    return _Silent()
