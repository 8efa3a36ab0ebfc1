"""Progress bars on stderr that stay quiet in CI and when output is not a terminal."""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm.auto import tqdm


def progress_enabled(requested: bool = True) -> bool:
    if not requested or os.environ.get("CI") or os.environ.get("ST_COMPRESS_QUIET"):
        return False
    return sys.stderr.isatty()


def progress_bar(total: int, desc: str, enabled: bool = True) -> Any:
    return tqdm(total=total, desc=desc, disable=not progress_enabled(enabled), file=sys.stderr, unit="sent")
