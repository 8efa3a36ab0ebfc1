"""The machine a measurement ran on: its CPU model, cores, ISA flags, int8 kernels and library versions, recorded
in every benchmark and named in every report (``machine_line``)."""

from __future__ import annotations

import os
import platform
from typing import Any


def machine_info() -> dict[str, Any]:
    from export.artifact.host import cpu_flags, cpu_model, host_isa, host_target, int8_kernels
    from export.artifact.manifest import versions

    isa = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimd", "sse4_2"})
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(), "isa_flags": isa,
            "host_target": host_target(), "host_isa": host_isa(), "int8_kernels": int8_kernels(),
            "platform": platform.platform(), "versions": versions()}


def machine_line(machine: dict[str, Any]) -> str:
    m = machine
    kernels = m.get("int8_kernels") or {}
    runs = f" int8 kernels: {kernels['onnxruntime']}." if kernels else ""
    return (f"Machine: {m['cpu']}, {m['cores']} cores, {m['machine']}, ISA {', '.join(m['isa_flags'])} "
            f"(int8 file for this host: {m['host_target']}).{runs}")
