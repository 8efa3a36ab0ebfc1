"""Batch invariance measured where a file runs: an arm64 target's files in the emulated arm64 runtime
(``scripts/setup-arm64.sh``: onnxruntime's aarch64 build in an aarch64 Python under qemu-user), the others on this
host. Emulation runs the arm64 kernels' own float arithmetic, so it rounds as the device does; its timings mean
nothing and none are taken here."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.quant_targets import TARGETS, target_spec
from export.artifact.invariance import measure_invariance
from export.gate import Scorer

log = logging.getLogger(__name__)

PROFILE = "arm64-server"  # the emulated CPU (Neoverse-N1): arm64's float kernels are the same on every core type
TIMEOUT_S = 1800.0
# Emulation runs the default student at about 1/30 of native speed: 64 texts alone against one batch of 64 keep an
# arm64 file's measurement to about half a minute (the host's: 128 texts, batches of 32 and 128).
TEXTS, BATCH_SIZES = 64, (64,)


def file_invariance(folder: Path, file: str, target: str, scorer: Scorer, floor: float) -> dict[str, Any]:
    """``file`` of the artifact being built at ``folder`` (an int8 file for ``target``), batch 1 against batches
    of 32 and 128 on the scorer's sentences, in the runtime that ``target``'s devices run (``fp32``: this host):
    its manifest entry."""
    if target in TARGETS and target_spec(target).arch == "arm64" and file.endswith(".onnx"):
        found = arm64_invariance(folder, [file], scorer.sentences, scorer.max_length, floor)
        if found is not None:
            return found[file]
    runtime = "OpenVINO" if file.endswith(".xml") else None
    return measure_invariance(scorer.encoder(folder / file).encode, scorer.sentences, floor,
                              runtime=runtime).to_dict()


def arm64_invariance(folder: Path, files: list[str], sentences: list[str], max_length: int,
                     floor: float) -> dict[str, dict[str, Any]] | None:
    """Each of ``files`` measured in the emulated arm64 runtime; None (logged) where that runtime is not set up:
    the host's measurement then stands, and an arm64 host measures the file again when it opens it."""
    from compress import emulation
    from compress.profiles import PROFILES

    if (why := emulation.arm64_missing()) is not None:
        log.warning("arm64 files' batch invariance measured on this host instead: %s (set it up with: %s)", why,
                    emulation.SETUP)
        return None
    cpu = str(PROFILES[PROFILE].cpu)
    spec = {"folder": str(folder.resolve()), "files": files, "sentences": sentences[:TEXTS], "floor": floor,
            "batch_sizes": list(BATCH_SIZES), "max_length": max_length, "isa": "arm64",
            "runtime": emulation.runtime_line(cpu)}
    log.info("measuring %s in the emulated arm64 runtime", ", ".join(files))
    with tempfile.TemporaryDirectory(prefix="st-compress-invariance-") as tmp:
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(spec))
        with emulation.emulated_python(cpu, Path(tmp)) as (python, env):
            try:
                done = subprocess.run([*python, "-m", "export.artifact.invariance", str(path)], env=env, text=True,
                                      capture_output=True, timeout=TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                done = None
    lines = done.stdout.strip().splitlines() if done else []
    if done is None or done.returncode != 0 or not lines:
        why = "timed out" if done is None else (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise CompressError(f"{', '.join(files)}: the emulated arm64 run failed: {why}",
                            f"check the file runs on onnxruntime's aarch64 build, or re-run {emulation.SETUP}")
    result: dict[str, dict[str, Any]] = json.loads(lines[-1])
    return result
