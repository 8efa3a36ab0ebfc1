"""Where the edge runtimes live (installed by scripts into the project's cache) and what is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

from compress import emulation
from compress.errors import CompressError
from compress.models import runtimes_dir
from compress.profiles import Runtime

JS_SOURCES = Path(__file__).parent / "js"
SETUP = {Runtime.QEMU: emulation.SETUP, Runtime.NODE: "bash scripts/setup-edge.sh node",
         Runtime.BROWSER: "bash scripts/setup-edge.sh browser"}
CHROMIUM = ("chromium", "chromium-browser")


def js_dir() -> Path:
    """The npm install of compress/bench/edge/js/package.json."""
    return runtimes_dir() / "js"


def transformers_bundle() -> Path:
    return js_dir() / "node_modules" / "@huggingface" / "transformers" / "dist" / "transformers.js"


def ort_web_dist() -> Path:
    return js_dir() / "node_modules" / "onnxruntime-web" / "dist"


def chromium() -> str | None:
    return next((found for name in CHROMIUM if (found := shutil.which(name))), None)


def missing(runtime: Runtime) -> str | None:
    """Why ``runtime`` cannot run here (None: it can)."""
    if runtime is Runtime.QEMU:
        return emulation.arm64_missing()
    if runtime in (Runtime.NODE, Runtime.BROWSER):
        if shutil.which("node") is None and runtime is Runtime.NODE:
            return "Node.js is not installed (no 'node' on PATH)"
        needed = [js_dir() / "node_modules" / "@huggingface" / "transformers" / "package.json"]
        if runtime is Runtime.BROWSER:
            needed += [transformers_bundle(), ort_web_dist()]
        absent = [str(p) for p in needed if not p.exists()]
        if absent:
            return f"transformers.js is not installed ({', '.join(absent)} missing)"
        if runtime is Runtime.BROWSER and chromium() is None:
            return "Chromium is not installed (no 'chromium' on PATH)"
    return None


def require(runtime: Runtime, profile: str) -> None:
    """Refuse, before any work, a profile whose runtime is not set up: name what is missing and the fix."""
    reason = missing(runtime)
    if reason:
        raise CompressError(f"profile {profile!r} cannot run: {reason}", f"set it up with: {SETUP[runtime]}")
