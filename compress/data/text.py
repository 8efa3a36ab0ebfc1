"""Read text files (plain or gzip) line by line, with errors that name the file and line."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from compress.errors import CompressError


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, through gzip when it ends in ``.gz``."""
    if not path.is_file():
        raise CompressError(f"data file {path} does not exist", "check the path in your config (relative to the cwd)")
    handle = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    return cast(IO[bytes], handle)


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` decoded as UTF-8; bad bytes and broken gzip name the file and line."""
    line_no = 0
    try:
        with open_binary(path) as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise CompressError(f"{path}:{line_no}: bytes that are not UTF-8 ({exc.reason})",
                                        "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
                yield line_no, text
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise CompressError(f"{path}: unreadable gzip after line {line_no} ({exc})",
                            "re-create the .gz file, or decompress it and pass the plain file") from None


def base_suffix(path: Path) -> str:
    """``.txt`` for ``a.txt.gz``, ``.csv`` for ``a.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` of a JSON-lines file, skipping blank lines; a line that is not a JSON
    object names the file and line."""
    for line_no, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CompressError(f"{path}:{line_no}: not a JSON object ({exc.msg})",
                                "write one JSON object per line") from None
        if not isinstance(record, dict):
            raise CompressError(f"{path}:{line_no}: not a JSON object", "write one JSON object per line")
        yield line_no, record
