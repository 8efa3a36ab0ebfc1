"""The bench worker under user-mode emulation: an aarch64 Python, onnxruntime's aarch64 build, a device's CPU."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from compress.bench.edge.runtimes import arm64_runtime
from compress.bench.worker import spawn
from compress.profiles import Profile

PACKAGES = ("compress", "export")  # what the worker imports from this project: pure Python


def emulated_worker(profile: Profile, spec: dict[str, Any], folder: Path, timeout: float) -> tuple[Any, str | None]:
    """Run ``compress.bench.worker`` on ``spec`` under ``qemu-aarch64 -cpu <profile.cpu>``."""
    return emulated_module(profile, "compress.bench.worker", spec, folder, timeout)


def emulated_module(profile: Profile, module: str, spec: dict[str, Any], folder: Path,
                    timeout: float) -> tuple[Any, str | None]:
    """Run ``python -m module SPEC`` (one of this project's, with ``spec`` written to SPEC) under
    ``qemu-aarch64 -cpu <profile.cpu>``: the JSON of its last stdout line, or ``(None, why)``."""
    arm = arm64_runtime()
    python = [str(arm.qemu), "-cpu", str(profile.cpu), "-L", str(arm.sysroot), str(arm.python)]
    with tempfile.TemporaryDirectory(dir=folder, prefix="pkgs-") as pkgs:
        for name in PACKAGES:  # only this project's packages beside the aarch64 wheels, never the host's others
            os.symlink(Path(__file__).resolve().parents[3] / name, Path(pkgs) / name)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
               "PYTHONPATH": os.pathsep.join([str(arm.site), pkgs]), "PYTHONNOUSERSITE": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        return spawn(module, spec, folder / "spec.json", timeout, python, env)


def runtime_line(profile: Profile) -> str:
    info = arm64_runtime().info
    qemu = str(info.get("qemu", "qemu-aarch64")).split(" (")[0]
    onnxruntime = next((p for p in info.get("packages", []) if str(p).startswith("onnxruntime")), "onnxruntime")  # type: ignore[attr-defined]
    return f"{onnxruntime} (aarch64) under {qemu} -cpu {profile.cpu}"
