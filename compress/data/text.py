"""Open text files (plain or gzip) and decode them line by line with errors that name file and line."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from compress.errors import CompressError


def open_text(path: Path) -> IO[str]:
    """Open ``path`` as UTF-8 text (gzip by suffix); undecodable bytes raise on the line that holds them."""
    if not path.is_file():
        raise CompressError(f"data file {path} does not exist", "check the path in your config (relative to the cwd)")
    raw: IO[bytes] = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` from ``path``, turning decode and gzip failures into CompressError."""
    line_no = 0
    try:
        with open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                yield line_no, line
    except UnicodeDecodeError as exc:
        raise CompressError(f"{path}:{line_no + 1}: bytes that are not UTF-8 ({exc.reason})",
                            "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise CompressError(f"{path}: unreadable gzip after line {line_no} ({exc})",
                            "re-create the .gz file, or decompress it and pass the plain file") from None


def base_suffix(path: Path) -> str:
    """``.txt`` for ``a.txt.gz``, ``.csv`` for ``a.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""
