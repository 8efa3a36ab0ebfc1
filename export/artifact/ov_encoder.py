"""Sentence embeddings from an artifact's OpenVINO IR file (``openvino/*.xml``) with OpenVINO's CPU plugin.

OpenVINO is an optional extra (``pip install st-compress[openvino]``); it does not import torch. Reading IR and
compiling it sends no telemetry (only OpenVINO's model converter and NNCF do, and the export turns theirs off).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from compress.errors import CompressError
from compress.extras import openvino_module
from export.artifact.encoder import TextEncoder, artifact_tokenizer, intra_op_threads
from export.artifact.layout import OUTPUT


class OpenVinoEncoder(TextEncoder):
    runtime = "openvino"

    def __init__(self, model_path: Path, tokenizer_dir: Path, max_length: int, threads: int | None = None,
                 fallback: int | None = None) -> None:
        """``threads``: CPU inference threads (``encoder.intra_op_threads``; None: OpenVINO's default). The
        LATENCY hint: one stream, so a batch uses every thread (THROUGHPUT streams split them per request).
        Precision f32: on CPUs with AMX OpenVINO would otherwise run the IR in bfloat16 (cosine about 0.99996 to
        the ONNX graph), so the files run at the precision the export checked them at, on every CPU."""
        ov = openvino_module()
        self.threads, self.max_length = intra_op_threads(tokenizer_dir, threads, fallback), max_length
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        try:
            self.compiled = ov.Core().compile_model(str(model_path), "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError for a missing .bin or a corrupt file
            raise CompressError(f"{model_path} is not a loadable OpenVINO model: {exc}",
                                "re-export it (compress export with the openvino extra installed)") from None
        self.inputs = {name for port in self.compiled.inputs for name in port.get_names()}
        self.output = self.compiled.output(OUTPUT)
        self.request = self.compiled.create_infer_request()
        self.tokenizer = artifact_tokenizer(tokenizer_dir, max_length)

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        present = {k: v for k, v in feeds.items() if k in self.inputs}
        return np.array(self.request.infer(present)[self.output], dtype=np.float32)

    def output_dim(self) -> int | None:
        dim = self.output.get_partial_shape()[-1]
        return dim.get_length() if dim.is_static else None
