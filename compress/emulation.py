"""The emulated arm64 runtime (``scripts/setup-arm64.sh``, in the project's cache): an aarch64 Python with
onnxruntime's aarch64 build, run under qemu-user as a given CPU; where it lives, what is missing, and how this
project's modules run in it. The benchmark's edge profiles time files there; the export measures an arm64 target's
files there (its float rounding is the device's; its timings are not)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from compress.models import runtimes_dir

SETUP = "bash scripts/setup-arm64.sh"
PACKAGES = ("compress", "export")  # what an emulated module imports from this project: pure Python


@dataclass(frozen=True)
class Arm64:
    """The emulated arm64 runtime from scripts/setup-arm64.sh."""

    root: Path

    @property
    def qemu(self) -> Path:
        return self.root / "bin" / "qemu-aarch64"

    @property
    def sysroot(self) -> Path:
        return self.root / "root"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def info(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.root / "runtime.json").read_text())
        return data

    @property
    def python(self) -> Path:
        return self.sysroot / "usr" / "bin" / str(self.info["python"])


def arm64_runtime() -> Arm64:
    return Arm64(runtimes_dir() / "arm64")


def arm64_missing() -> str | None:
    """Why the emulated arm64 runtime cannot run here (None: it can)."""
    arm = arm64_runtime()
    absent = [str(p) for p in (arm.qemu, arm.root / "runtime.json", arm.site / "onnxruntime") if not p.exists()]
    return f"the emulated arm64 runtime is not set up ({', '.join(absent)} missing)" if absent else None


@contextmanager
def emulated_python(cpu: str, folder: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """The command line of the aarch64 Python under ``qemu-aarch64 -cpu <cpu>`` and its environment: the
    aarch64 wheels and this project's packages (linked into a folder under ``folder`` while it is open), never the
    host's other packages."""
    arm = arm64_runtime()
    python = [str(arm.qemu), "-cpu", cpu, "-L", str(arm.sysroot), str(arm.python)]
    with tempfile.TemporaryDirectory(dir=folder, prefix="pkgs-") as pkgs:
        for name in PACKAGES:
            os.symlink(Path(__file__).resolve().parents[1] / name, Path(pkgs) / name)
        yield python, {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
                       "PYTHONPATH": os.pathsep.join([str(arm.site), pkgs]), "PYTHONNOUSERSITE": "1",
                       "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def runtime_line(cpu: str) -> str:
    """``onnxruntime==X (aarch64) under qemu-aarch64 version Y -cpu <cpu>``."""
    info = arm64_runtime().info
    qemu = str(info.get("qemu", "qemu-aarch64")).split(" (")[0]
    packages = info.get("packages", [])
    onnxruntime = next((str(p) for p in packages if str(p).startswith("onnxruntime")), "onnxruntime") \
        if isinstance(packages, list) else "onnxruntime"
    return f"{onnxruntime} (aarch64) under {qemu} -cpu {cpu}"
