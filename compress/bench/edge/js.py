"""transformers.js in Node: the same embedding script the browser page runs, on onnxruntime-node."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.edge.runtimes import JS_SOURCES, js_dir
from compress.errors import CompressError
from export.artifact.layout import max_length_of

MODES = ("model", "pipeline")  # AutoModel + sentence_embedding; pipeline('feature-extraction', mean, normalize)
SCRIPTS = ("embed_node.mjs", "embed_core.mjs")


@dataclass(frozen=True)
class JsRun:
    meta: dict[str, Any]
    embeddings: dict[str, np.ndarray]  # mode -> (len(texts), dim)


def js_spec(art: Path, file: str, texts: list[str], timing: dict[str, Any] | None,
            threads: int | None) -> dict[str, Any]:
    """What embed_core.mjs reads: the model as transformers.js names it (a folder under its local model path and
    a file in its ``onnx/`` subfolder), the texts in order, their batch size, and what to time."""
    if Path(file).parent.name != "onnx":
        raise CompressError(f"{file}: transformers.js loads files from the artifact's onnx/ folder only",
                            "pass a file under onnx/")
    return {"root": f"{art.parent.resolve()}/", "model": art.name, "model_file_name": Path(file).stem,
            "texts": texts, "batch": 32, "max_length": max_length_of(art), "modes": list(MODES),
            "timing": timing, "threads": threads}


def read_embeddings(meta: dict[str, Any], folder: Path, count: int) -> dict[str, np.ndarray]:
    found = {}
    for mode in meta["modes"]:
        values = np.fromfile(folder / f"{mode}.f32", dtype=np.float32)
        found[mode] = values.reshape(count, -1)
    return found


def run_node(spec: dict[str, Any], folder: Path, timeout: float) -> JsRun:
    """Run embed_node.mjs beside the installed node_modules (ES modules resolve packages from the script's
    folder up), writing ``<mode>.f32`` into ``folder``."""
    spec = {**spec, "out": str(folder.resolve())}
    (folder / "spec.json").write_text(json.dumps(spec))
    run_dir = Path(tempfile.mkdtemp(dir=js_dir(), prefix=".run-"))
    try:
        for name in SCRIPTS:
            shutil.copy2(JS_SOURCES / name, run_dir / name)
        proc = subprocess.run(["node", str(run_dir / SCRIPTS[0]), str(folder / "spec.json")], capture_output=True,
                              text=True, timeout=timeout)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError("node: " + (" | ".join(lines[-3:]) if lines else f"exit {proc.returncode}"))
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    return JsRun(meta, read_embeddings(meta, folder, len(spec["texts"])))
