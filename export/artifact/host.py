"""The host: its CPU model and ISA flags, and which int8 target suits it."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo_lines() -> list[str]:
    path = Path("/proc/cpuinfo")
    return path.read_text().splitlines() if path.exists() else []


def cpu_flags() -> set[str]:
    flags: set[str] = set()
    for line in _cpuinfo_lines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
    return flags


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (the machine type where it has none)."""
    return next((line.split(":", 1)[1].strip() for line in _cpuinfo_lines() if line.startswith("model name")),
                platform.machine())


def host_target() -> str | None:
    """``arm64``, ``avx512_vnni``, ``avx512`` or ``avx2`` for this machine; None when none applies."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags()
    if "avx512_vnni" in flags or "avx512vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags:
        return "avx2"
    return None
