"""The bench worker under user-mode emulation: an aarch64 Python, onnxruntime's aarch64 build, a device's CPU
(``compress.emulation``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress import emulation
from compress.bench.worker import spawn
from compress.profiles import Profile


def emulated_worker(profile: Profile, spec: dict[str, Any], folder: Path, timeout: float) -> tuple[Any, str | None]:
    """Run ``compress.bench.worker`` on ``spec`` under ``qemu-aarch64 -cpu <profile.cpu>``."""
    with emulation.emulated_python(str(profile.cpu), folder) as (python, env):
        return spawn("compress.bench.worker", spec, folder / "spec.json", timeout, python, env)


def runtime_line(profile: Profile) -> str:
    return emulation.runtime_line(str(profile.cpu))
