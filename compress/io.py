"""Atomic writes: a file or a whole folder is built under a temporary name beside its target, then renamed; and
the stable digest of a JSON-able value that names cached and recorded things (stage keys, budget records)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: object) -> None:
    write_text_atomic(path, json.dumps(data, indent=2))


def write_npy_atomic(path: Path, array: Any) -> None:
    """A numpy array as ``.npy`` (no pickles), flushed to disk before the rename: a crash leaves it whole or absent."""
    import numpy as np

    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def replace_dir(tmp: Path, dest: Path) -> None:
    """Put the finished folder ``tmp`` at ``dest``; an existing ``dest`` is moved aside first, then deleted."""
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def building_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty folder with a hidden temporary name beside ``dest``; when the block ends without an error,
    swap it in for ``dest`` (an earlier ``dest`` is replaced), else delete it. The folder gets the usual
    permissions (``0777`` less the umask), not the owner-only ``0700`` of a temporary folder: the artifact is
    meant to be handed to others."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        replace_dir(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def digest(value: Any) -> str:
    """A short stable hash of a JSON-able value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:20]
