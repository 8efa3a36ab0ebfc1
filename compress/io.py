"""Atomic file writes: a temporary file beside the target, then a rename."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)
