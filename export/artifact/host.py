"""The host: its CPU model and ISA flags, and which int8 target suits it."""

from __future__ import annotations

import platform
from pathlib import Path

from compress.quant_targets import detect


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
    """This machine's int8 target (``compress.quant_targets``: ``avx512_vnni``, ``avx512``, ``avx2`` or
    ``arm64``); None when none applies."""
    return detect(platform.machine(), cpu_flags())


def _has_amx(flags: set[str]) -> bool:
    return {"amx_int8", "amx_tile"} <= flags


def host_isa() -> str:
    """The int8 instruction set this host runs: ``amx`` (Intel AMX-INT8), else its int8 target's name
    (``avx512_vnni``, ``avx512``, ``avx2``, ``arm64``), else the machine type."""
    if _has_amx(cpu_flags()):
        return "amx"
    return host_target() or platform.machine()


def int8_kernels(flags: set[str] | None = None) -> dict[str, str]:
    """Which int8 kernels each runtime runs on this host (from their documentation and source: onnxruntime's MLAS
    has AVX2, AVX512-VNNI/AVX-VNNI and AMX-INT8 GEMM kernels; OpenVINO's CPU plugin (oneDNN) uses AMX-INT8, then
    VNNI, then AVX2's u8 x s8 madd)."""
    flags = cpu_flags() if flags is None else flags
    if _has_amx(flags):
        best = "AMX-INT8"
    elif flags & {"avx512_vnni", "avx512vnni"}:
        best = "AVX512-VNNI"
    elif "avx_vnni" in flags:
        best = "AVX-VNNI"
    elif "avx2" in flags:
        best = "AVX2 (vpmaddubsw, no VNNI)"
    elif "asimddp" in flags:
        best = "NEON dot product (SDOT)"
    else:
        best = "generic"
    return {"onnxruntime": best, "openvino": best}
