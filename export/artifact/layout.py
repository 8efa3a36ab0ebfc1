"""The artifact folder's layout: which file is where, which file runs on which target, what must be copied.

An artifact (from ``compress export``, and the top of a ``compress run`` release) is a sentence-transformers
folder whose transformer weights are ONNX files:

- the student's ``config.json``, tokenizer files, ``modules.json`` and module folders; every module folder but
  the transformer's keeps its weights (a ``Dense`` projection, a ``StaticEmbedding`` table), so that
  sentence-transformers can load the folder with its ONNX backend (or, for a static model, as it is);
- ``onnx/model.onnx`` (fp32), ``onnx/model_optimized.onnx`` (fused, when parity held),
  ``onnx/model_qint8_<target>.onnx`` (dynamic int8), ``onnx/model_qrow_<target>.onnx`` (row-wise int8,
  ``export.rowwise``) and optionally ``onnx/model_qdq_<target>.onnx`` (static int8), each int8 file with
  ``<same name>.json`` beside it (its settings and scores);
- ``onnx/<int8 file>.ort``: the ORT-format copy of each int8 file (for onnxruntime's mobile and minimal builds),
  and ``onnx/required_operators.config``, the operators a minimal build needs to run them;
- ``openvino/openvino_model.xml`` (fp32) and ``openvino/openvino_model_qint8_quantized.xml`` (NNCF static int8, one
  file for every x86 target: OpenVINO picks its kernels when it compiles), with their ``.bin`` weights, in the
  layout sentence-transformers' OpenVINO backend loads; the int8 file has ``<same name>.json`` beside it;
- ``README.md``, the model card (``export.card``);
- ``export_report.json`` and ``manifest.json`` (``export.artifact.manifest``).

This module imports neither torch nor onnxruntime: ``serve`` reads artifacts through it.
"""

from __future__ import annotations

import json
import shutil
from enum import StrEnum
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.quant_targets import TARGET_ORDER, X86_TARGETS

ONNX_DIR = "onnx"
FP32 = f"{ONNX_DIR}/model.onnx"
OPTIMIZED = f"{ONNX_DIR}/model_optimized.onnx"
EXPORT_REPORT = "export_report.json"
TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
MODULES = "modules.json"
OUTPUT = "sentence_embedding"  # the graph output that holds the (pooled, projected, normalized) embedding
# Files that hold the transformer's PyTorch weights: the ONNX files replace them in an artifact.
TRANSFORMER_WEIGHTS = frozenset({"model.safetensors", "pytorch_model.bin", "model.onnx"})


OPENVINO_DIR = "openvino"
OV_FP32 = f"{OPENVINO_DIR}/openvino_model.xml"
OV_INT8 = f"{OPENVINO_DIR}/openvino_model_qint8_quantized.xml"


class Runtime(StrEnum):
    AUTO = "auto"  # the runtime the artifact's own benchmark measured fastest on this host's ISA, else onnxruntime
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"


def ov_weights(xml_file: str) -> str:
    """The ``.bin`` beside an OpenVINO IR file."""
    return str(Path(xml_file).with_suffix(".bin"))


def move_model(src: Path, dst: Path) -> None:
    """Move a model file, and its OpenVINO ``.bin`` when it is IR."""
    import os

    os.replace(src, dst)
    if src.suffix == ".xml":
        os.replace(src.with_suffix(".bin"), dst.with_suffix(".bin"))


def remove_model(path: Path) -> None:
    path.unlink(missing_ok=True)
    if path.suffix == ".xml":
        path.with_suffix(".bin").unlink(missing_ok=True)


def model_bytes(path: Path) -> int:
    """A model file's size, with its OpenVINO ``.bin`` when it is IR."""
    return path.stat().st_size + (path.with_suffix(".bin").stat().st_size if path.suffix == ".xml" else 0)


class QuantKind(StrEnum):
    DYNAMIC = "qint8"  # activations scaled per batch tensor at run time: fast, not batch-invariant
    STATIC = "qdq"  # calibrated scales: batch-invariant, QDQ for runtimes that want it
    ROWWISE = "qrow"  # activations scaled per row at run time (export.rowwise): batch-invariant and fast


def quantized_file(target: str, kind: QuantKind = QuantKind.DYNAMIC) -> str:
    return f"{ONNX_DIR}/model_{kind.value}_{target}.onnx"


REQUIRED_OPERATORS = f"{ONNX_DIR}/required_operators.config"  # for a minimal (mobile) onnxruntime build


def ort_file(onnx_file: str) -> str:
    """The ORT-format copy of an int8 file (onnxruntime's mobile format): ``onnx/model_qint8_arm64.ort``."""
    return str(Path(onnx_file).with_suffix(".ort"))


def runtime_of(file: str) -> Runtime:
    return Runtime.OPENVINO if file.endswith(".xml") else Runtime.ONNXRUNTIME


def settings_file(onnx_file: str) -> str:
    """The JSON beside an int8 file: its quantization settings and gate scores."""
    return str(Path(onnx_file).with_suffix(".json"))


def target_of(onnx_file: str) -> str:
    """``avx2`` for ``onnx/model_qint8_avx2.onnx``; ``x86`` for the OpenVINO int8 file; ``fp32`` for the fp32
    and optimized graphs."""
    if onnx_file == OV_INT8:
        return "x86"
    stem = Path(onnx_file).stem
    for kind in QuantKind:
        if stem.startswith(f"model_{kind.value}_"):
            return stem.removeprefix(f"model_{kind.value}_")
    return "fp32"


def int8_files(target: str) -> list[str]:
    """A target's int8 files, best first: the batch-invariant ones (row-wise, then static), then the dynamic one."""
    return [quantized_file(target, QuantKind.ROWWISE), quantized_file(target, QuantKind.STATIC),
            quantized_file(target)]


def preference(target: str | None) -> list[str]:
    """Files to try, best first, for a host target (None: the fp32 graphs only)."""
    return [*(f for t in TARGET_ORDER.get(target or "", ()) for f in int8_files(t)), OPTIMIZED, FP32]


def ov_preference(target: str | None) -> list[str]:
    """OpenVINO files to try, best first: the int8 file on an x86 target, then fp32."""
    return [*(exact_files(target, openvino=True) if target else []), OV_FP32]


def exact_files(target: str, openvino: bool) -> list[str]:
    """The int8 files that serve ``target`` exactly, best first (OpenVINO: one int8 IR for every x86 target)."""
    if openvino:
        return [OV_INT8] if target in X86_TARGETS else []
    return int8_files(target)


def choose_file(folder: Path, target: str | None, exact: bool = False, runtime: str = Runtime.ONNXRUNTIME) -> str:
    """The file an artifact runs for ``target`` on ``runtime``: its int8 file (``exact``: that one or an error),
    else the best int8 file the target can run, else the optimized, else the plain fp32 graph."""
    openvino = runtime == Runtime.OPENVINO
    if exact and target not in (None, "fp32"):
        names = exact_files(str(target), openvino)
        found = next((name for name in names if (folder / name).is_file()), None)
        if found is None:
            raise CompressError(f"{folder} has no file for target {target!r} on {runtime}"
                                f" ({' or '.join(names) or 'OpenVINO files are for x86 targets only'})",
                                "use target 'auto', 'fp32' or one the artifact was exported for"
                                + (", or runtime 'onnxruntime'" if openvino else ""))
        return found
    files = ov_preference(target) if openvino else preference(target)
    found = next((f for f in files if (folder / f).is_file()), None)
    if found is None:
        raise CompressError(f"{folder} holds no {'OpenVINO' if openvino else 'ONNX'} model",
                            "re-export it with the openvino extra installed (pip install 'st-compress[openvino]'), "
                            "or use runtime 'onnxruntime'" if openvino else
                            "pass an artifact folder written by compress export")
    return found


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompressError(f"{path} is not readable JSON ({exc})", "re-export the artifact") from None


def modules(folder: Path) -> list[dict[str, Any]]:
    """The entries of ``modules.json`` (``[]`` when the folder has none)."""
    entries = _read_json(folder / MODULES) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CompressError(f"{folder / MODULES} is not a list of modules", "re-export the artifact")
    return entries


def is_static(folder: Path) -> bool:
    """A Model2Vec-style artifact or student folder: its first module is a ``StaticEmbedding``."""
    entries = modules(folder)
    return bool(entries) and str(entries[0].get("type", "")).endswith("StaticEmbedding")


def weighted_module_dirs(folder: Path) -> list[str]:
    """Module folders a runtime loads with their weights: every module but the top-level transformer, whose
    weights are the ONNX files (``""`` for a static model's top-level token table)."""
    static = is_static(folder)
    return [str(e.get("path", "")) for e in modules(folder) if e.get("path") or static]


def copy_model_files(student_dir: Path, dest: Path) -> None:
    """Copy a sentence-transformers folder into an artifact: everything but the transformer's PyTorch weights,
    checkpoints, hidden files and any ONNX export of its own; module folders (and a static model's token
    table) keep their weights."""
    keep_weights = set(weighted_module_dirs(student_dir))
    for item in student_dir.iterdir():
        if item.name.startswith((".", "checkpoint")) or item.name == ONNX_DIR:
            continue
        if item.name in TRANSFORMER_WEIGHTS and "" not in keep_weights:
            continue
        if item.is_dir():
            ignore = None if item.name in keep_weights else shutil.ignore_patterns(*TRANSFORMER_WEIGHTS)
            shutil.copytree(item, dest / item.name, ignore=ignore)
        else:
            shutil.copy2(item, dest / item.name)


def fold_modules(folder: Path, indices: tuple[int, ...], dim: int) -> None:
    """Drop the modules (by index) that the ONNX graph now applies to every token, and give the pooling module
    the width of what it pools (``dim``): sentence-transformers' ONNX backend then pools the graph's first
    output as it is, like every other runtime does."""
    from compress.io import write_json_atomic

    entries = modules(folder)
    kept = [dict(e, idx=i) for i, e in enumerate(e for j, e in enumerate(entries) if j not in indices)]
    write_json_atomic(folder / MODULES, kept)
    for index in indices:
        shutil.rmtree(folder / str(entries[index].get("path", "")), ignore_errors=True)
    pooling = next((e for e in kept if str(e.get("type", "")).endswith("Pooling")), None)
    config_path = folder / str(pooling.get("path", "")) / "config.json" if pooling else None
    config = (_read_json(config_path) or {}) if config_path else {}
    for key in ("embedding_dimension", "word_embedding_dimension"):
        if key in config:
            config[key] = dim
    if config_path and config:
        write_json_atomic(config_path, config)


def align_tokenizer_config(folder: Path, max_length: int) -> None:
    """``tokenizer_config.json`` with ``model_max_length`` = the length the artifact truncates at (and a pad
    token): the runtimes that read it (transformers.js, fastembed) then truncate and pad as ``serve`` does."""
    from compress.io import write_json_atomic

    path = folder / TOKENIZER_CONFIG
    config = _read_json(path) or {}
    config["model_max_length"] = max_length
    config.setdefault("pad_token", pad_token(folder))
    write_json_atomic(path, config)


def max_length_of(folder: Path) -> int:
    """The model's max sequence length as saved in a sentence-transformers folder.

    Older folders keep it in sentence_bert_config.json; sentence-transformers 5.x keeps it in the tokenizer
    config's model_max_length. The position-embedding count is the last resort.
    """
    candidates = [(_read_json(folder / name) or {}).get(key) for name, key in
                  (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length"),
                   ("config.json", "max_position_embeddings"))]
    for value in candidates:
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 100_000:
            return int(value)
    return 512


def pad_token(folder: Path) -> str:
    token = (_read_json(folder / "special_tokens_map.json") or {}).get("pad_token", "[PAD]")
    return str(token["content"]) if isinstance(token, dict) else str(token)
