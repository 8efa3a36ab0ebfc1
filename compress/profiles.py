"""Target profiles: thread count, CPU pinning, which int8 file a profile runs, and in which runtime.

``native`` profiles run on this host in a fresh Python process each. The others are edge profiles
(``compress.bench.edge``): an emulated arm64 device (``qemu``, with the CPU model of a real one), transformers.js in
Node (``node``) and in headless Chromium (``browser``); they need their runtime set up by a script.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from enum import StrEnum

from compress.errors import ConfigError


class Runtime(StrEnum):
    NATIVE = "native"
    QEMU = "qemu"
    NODE = "node"
    BROWSER = "browser"


@dataclass(frozen=True)
class Profile:
    name: str
    threads: int | None  # None: all cores
    cores: tuple[int, ...] | None = None  # CPU affinity; None: no pinning
    quant_target: str = "auto"  # which int8 file: "auto" (host ISA) or a target name
    arch: str | None = None  # "arm64": runnable only on an arm64 host
    runtime: Runtime = Runtime.NATIVE
    cpu: str | None = None  # qemu: the emulated CPU model (qemu-aarch64 -cpu)
    device: str | None = None  # what the profile stands for, for reports

    @property
    def edge(self) -> bool:
        return self.runtime is not Runtime.NATIVE

    @property
    def thread_count(self) -> int | None:
        """Threads a model may use: ``threads``, else one per pinned core (None: the runtime's default).
        Runtimes are told this explicitly: onnxruntime's default pool pins its workers to every core of the
        machine, ignoring the process's affinity, so a 1-core profile would run on two."""
        return self.threads or (len(self.cores) if self.cores else None)

    def runnable(self) -> tuple[bool, str]:
        if self.edge:
            return True, ""  # its runtime is checked before the benchmark starts (compress.bench.edge.runtimes)
        host = "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"
        if self.arch and self.arch != host:
            return False, f"not runnable here: profile needs {self.arch}, host is {host}"
        available = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
        if self.cores and available and not set(self.cores) <= available:
            return False, f"not runnable here: cores {list(self.cores)} not available (have {sorted(available)})"
        return True, ""


PROFILES = {
    "x86-server": Profile("x86-server", threads=None),
    "edge-1core": Profile("edge-1core", threads=1, cores=(0,)),
    "edge-2core": Profile("edge-2core", threads=2, cores=(0, 1)),
    "arm64": Profile("arm64", threads=None, quant_target="arm64", arch="arm64"),
    "rpi4": Profile("rpi4", threads=None, quant_target="arm64", runtime=Runtime.QEMU, cpu="cortex-a72",
                    device="Raspberry Pi 4 (Cortex-A72, no dot-product instructions), emulated"),
    "rpi5": Profile("rpi5", threads=None, quant_target="arm64", runtime=Runtime.QEMU, cpu="cortex-a76",
                    device="Raspberry Pi 5 (Cortex-A76, dot-product), emulated"),
    "arm64-server": Profile("arm64-server", threads=None, quant_target="arm64", runtime=Runtime.QEMU,
                            cpu="neoverse-n1", device="arm64 server (Neoverse-N1, as AWS Graviton2), emulated"),
    "node": Profile("node", threads=None, runtime=Runtime.NODE, device="transformers.js in Node (onnxruntime-node)"),
    "browser": Profile("browser", threads=None, runtime=Runtime.BROWSER,
                       device="transformers.js in headless Chromium (onnxruntime-web, WebAssembly)"),
}


def get_profile(name: str, extra: dict[str, Profile] | None = None) -> Profile:
    known = {**PROFILES, **(extra or {})}
    if name not in known:
        raise ConfigError(f"unknown profile {name!r}", "choose from: " + ", ".join(known))
    return known[name]
