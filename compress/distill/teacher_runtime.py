"""The teacher's pass through onnxruntime, for the embedding cache.

On a CPU without native bf16 the teacher runs in fp32, and there onnxruntime embeds about 1.5x faster than PyTorch
at the same targets (all-mpnet-base-v2 on 2 cores of an AVX2-only AMD EPYC: 21.9 vs 14.8 sentences/s, mean cosine
1.0000000 to PyTorch fp32; ``benchmarks/results/teacher_runtime.md``). Where bf16 is native, PyTorch's bf16 autocast
is faster still (about 2x its fp32), so ``teacher.runtime = "auto"`` keeps PyTorch there and on GPUs.

The graph is the teacher's own export (``export.onnx_export``: pooling and normalization inside), made once per
set of weights into ``<cache_dir>/teacher-onnx/<weights>/`` beside the tokenizer files, and checked against PyTorch
on the first texts it is to embed: below ``PARITY`` (or when the export fails) the pass runs on PyTorch instead,
and says so. Batches are sorted by length, as sentence-transformers' ``encode`` sorts them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compress.config import Config, Precision, TeacherRuntime
from compress.io import building_dir
from compress.precision import resolve
from export.artifact.layout import FP32

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from export.artifact.encoder import TextEncoder

log = logging.getLogger(__name__)

PARITY = 0.9999  # min cosine to PyTorch fp32 on the probe texts
INT8_PARITY = 0.97  # the same for the int8 graph (teacher.runtime = "onnxruntime-int8"): a floor against a broken one
PARITY_TEXTS = 32
OPSET = 17
GRAPH = FP32  # the exported graph inside the folder, where an artifact keeps its fp32 file
EncodeFn = Callable[[list[str]], np.ndarray]


def resolve_runtime(runtime: TeacherRuntime, precision: Precision, device_type: str) -> TeacherRuntime:
    """``auto``: onnxruntime where the teacher would run fp32 on a CPU, else PyTorch; an explicit choice is kept."""
    if runtime is TeacherRuntime.AUTO:
        fp32_cpu = device_type == "cpu" and resolve(precision, device_type) is Precision.FP32
        return TeacherRuntime.ONNXRUNTIME if fp32_cpu else TeacherRuntime.TORCH
    return runtime


def teacher_device(config: Config) -> str:
    """The device type the teacher will load on (``train.device``, else what sentence-transformers picks)."""
    if config.train.device:
        return config.train.device.split(":")[0]
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def config_runtime(config: Config) -> TeacherRuntime:
    return resolve_runtime(config.teacher.runtime, config.teacher.precision, teacher_device(config))


def _graph_folder(model: SentenceTransformer, weights: str, cache_dir: Path) -> Path:
    """The exported teacher (made once): the saved sentence-transformers folder without its PyTorch weights."""
    from export.onnx_export import export_onnx

    folder = cache_dir / "teacher-onnx" / weights
    if (folder / GRAPH).is_file():
        return folder
    log.info("exporting the frozen model to ONNX for its embedding pass (once per weights), into %s", folder)
    with building_dir(folder) as tmp:
        model.save(str(tmp))
        (tmp / "onnx").mkdir()
        export_onnx(tmp, tmp / GRAPH, OPSET)
        for weights_file in ("model.safetensors", "pytorch_model.bin"):
            (tmp / weights_file).unlink(missing_ok=True)
    return folder


def int8_graph(folder: Path) -> Path:
    """The exported teacher quantized for this CPU (row-wise int8, the export's row-wise preset for its target),
    made once beside the fp32 graph. Row-wise: on all-mpnet-base-v2 the dynamic per-tensor file fell to a mean
    cosine of 0.72 to fp32 (min 0.52 on 64 corpus sentences); row-wise keeps 0.9959 (min 0.9905)."""
    from export.artifact.host import host_target
    from export.artifact.layout import QuantKind, quantized_file
    from export.presets import rowwise_preset_for
    from export.rowwise import quantize_rowwise

    target = host_target()
    if target is None:
        raise RuntimeError("this CPU has no int8 target")
    path = folder / quantized_file(target, QuantKind.ROWWISE)
    if not path.is_file():
        log.info("quantizing the frozen model's graph to row-wise int8 (%s) for its embedding pass, once", target)
        tmp = path.with_name(f".{path.stem}.tmp.onnx")
        quantize_rowwise(folder / GRAPH, tmp, rowwise_preset_for(target))
        tmp.replace(path)
    return path


def sorted_encode(encoder: TextEncoder, batch_size: int) -> EncodeFn:
    """Batches of similar length (longest first, by characters), rows back in input order."""
    def encode(texts: list[str]) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors = encoder.encode([texts[i] for i in order], batch_size=batch_size)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out
    return encode


def onnx_encoder(model: SentenceTransformer, weights: str, cache_dir: Path, batch_size: int,
                 probe: list[str], int8: bool = False) -> EncodeFn | None:
    """An encode function through onnxruntime at the model's current ``max_seq_length`` (``int8``: the quantized
    graph), or None (with a warning) when the export fails or its vectors are not PyTorch's (``PARITY``, or
    ``INT8_PARITY`` for the int8 graph)."""
    import torch

    from export.artifact.encoder import OnnxEncoder

    try:
        folder = _graph_folder(model, weights, cache_dir)
        graph = int8_graph(folder) if int8 else folder / GRAPH
        length = int(model.max_seq_length or model.tokenizer.model_max_length)
        encoder = OnnxEncoder(graph, folder, length, threads=torch.get_num_threads())
    except Exception as exc:  # the exporters and onnxruntime raise many types; PyTorch still works
        log.warning("teacher.runtime: onnxruntime is unavailable for this teacher (%s: %s); using PyTorch",
                    type(exc).__name__, exc)
        return None
    encode = sorted_encode(encoder, batch_size)
    texts = probe[:PARITY_TEXTS]
    ours = encode(texts)
    theirs = model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    cosine = float(np.min(np.sum(ours * theirs, 1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))))
    floor = INT8_PARITY if int8 else PARITY
    if cosine < floor:
        log.warning("teacher.runtime: onnxruntime's vectors differ from PyTorch's (min cosine %.6f < %s); using "
                    "PyTorch", cosine, floor)
        return None
    log.info("onnxruntime %s graph: min cosine %.7f to PyTorch on %d texts", "int8" if int8 else "fp32", cosine,
             len(texts))
    return encode
