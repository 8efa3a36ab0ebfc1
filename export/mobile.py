"""ORT-format copies of the int8 files, for onnxruntime's mobile and minimal builds, and the operator list such a
build needs (``required_operators.config``, the input of onnxruntime's ``--include_ops_by_config`` build flag).

onnxruntime's own converter (``onnxruntime.tools.convert_onnx_models_to_ort``) writes them, with its graph
optimizations fixed for the target's platform (``arm`` for the arm64 file, ``amd64`` for the x86 ones). Each copy
is then loaded by onnxruntime and checked against the ``.onnx`` file it came from on the same sentences. A 4-bit
embedding table (``export.table``) has no ORT-format copy: the format cannot hold int4 tensors.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from export.artifact.encoder import OnnxEncoder
from export.artifact.layout import REQUIRED_OPERATORS, ort_file, target_of
from export.parity import Parity, compare

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrtCopy:
    source: str
    file: str
    size_bytes: int
    parity: Parity


def _platform(onnx_file: str) -> str:
    return "arm" if target_of(onnx_file) == "arm64" else "amd64"


def _convert(src: Path, out_dir: Path, platform: str) -> list[Path]:
    """Graph optimizations fixed in the file for arm (what mobile builds run); for amd64 the portable "runtime"
    style, since the fixed one bakes in this host's x86 layout transforms (NCHWc)."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    style = OptimizationStyle.Fixed if platform == "arm" else OptimizationStyle.Runtime
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints; stdout is for results (--json)
        convert_onnx_models_to_ort(src, output_dir=out_dir, optimization_styles=[style], target_platform=platform)
    return sorted(out_dir.glob("*.ort"))


def merge_operator_configs(paths: list[Path]) -> list[str]:
    """Union of onnxruntime operator configs (lines ``domain;opset;Op1,Op2``), one line per domain and opset."""
    ops: dict[tuple[str, str], set[str]] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                domain, opset, names = line.split(";", 2)
                ops.setdefault((domain, opset), set()).update(n for n in names.split(",") if n)
    return [f"{d};{o};{','.join(sorted(names))}" for (d, o), names in sorted(ops.items())]


def write_ort_copies(folder: Path, files: list[str], max_length: int, probe: list[str]) -> dict[str, Any]:
    """``onnx/<file>.ort`` for each of ``files`` and one ``onnx/required_operators.config`` covering them all."""
    copies = []
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        for index, file in enumerate(files):
            src = Path(tmp) / f"in-{index}"
            src.mkdir()
            shutil.copy2(folder / file, src / Path(file).name)
            # one output folder per file: the converter names its operator config after the style, not the model,
            # so a second conversion into the same folder would overwrite the first one's operator list
            (converted,) = _convert(src, Path(tmp) / f"ort-{index}", _platform(file))
            shutil.move(str(converted), folder / ort_file(file))
            check = compare(OnnxEncoder(folder / file, folder, max_length),
                            OnnxEncoder(folder / ort_file(file), folder, max_length), probe)
            copies.append(OrtCopy(file, ort_file(file), (folder / ort_file(file)).stat().st_size, check))
        if copies:  # the converter writes a config per optimization style, with temporary paths as comments
            header = ["# Operators the ORT-format files of this artifact use:", *(f"# - {c.file}" for c in copies)]
            listed = merge_operator_configs(sorted(Path(tmp).glob("ort-*/*.config")))
            (folder / REQUIRED_OPERATORS).write_text("\n".join([*header, *listed]) + "\n")
    return {"files": {c.file: asdict(c) for c in copies},
            "required_operators": REQUIRED_OPERATORS if copies else None}
