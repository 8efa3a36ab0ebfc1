"""OpenVINO files for x86 targets: the fp32 ONNX graph read into OpenVINO IR, and NNCF static int8 from it.

Both keep the ONNX graph's pooling and normalization (its ``sentence_embedding`` output). The int8 file is post-
training quantization with activation ranges calibrated on corpus sentences (fixed scales: batch-invariant), the
transformer preset (``nncf.ModelType.TRANSFORMER``: attention's softmax/layer-norm paths stay in float), gated like
the onnxruntime files. IR is read with ``Core.read_model`` (not the model converter, which sends telemetry), and
NNCF's telemetry is turned off before it is imported. Nothing here touches the network.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from compress.config import ExportConfig, OpenVinoMode
from compress.extras import openvino_available, openvino_module
from compress.quant_targets import X86_TARGETS
from export.presets import QuantPreset

ENV_NO_TELEMETRY = {"NNCF_CI": "1"}  # nncf.telemetry: a stub when set (the documented switch for CI runs)


def wanted(config: ExportConfig) -> str | None:
    """None when the export writes OpenVINO files, else why not (``openvino = "on"`` without the extra is a
    config error found before any work: ``config_checks``)."""
    if config.openvino == OpenVinoMode.OFF:
        return "export.openvino = \"off\""
    if not any(t.value in X86_TARGETS for t in config.targets):
        return "no x86 target in export.targets"
    if not openvino_available():
        return "the openvino extra is not installed (pip install 'st-compress[openvino]')"
    return None


def _nncf() -> Any:
    """nncf, its telemetry off and its log on stderr (it logs to stdout, where the CLI prints its results)."""
    for key, value in ENV_NO_TELEMETRY.items():
        os.environ.setdefault(key, value)
    import nncf
    from nncf.common.logging import nncf_logger

    for handler in nncf_logger.handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
    return nncf


# The ONNX graph's first output under its sentence-transformers name. The IR leaves it out: optimum-intel refuses an
# IR that has both it and ``sentence_embedding`` (it takes such a file for a sentence-transformers export and asks
# for OVSentenceTransformer), and sentence-transformers' OpenVINO backend reads ``last_hidden_state``, the same
# tensor under its other name (export.onnx_export.ALIAS).
DROPPED_OUTPUT = "token_embeddings"


def save_ir(model: Any, xml: Path) -> None:
    """``xml`` and its ``.bin``, fp32 weights (OpenVINO's default would store them in fp16), without the
    ``token_embeddings`` output (``DROPPED_OUTPUT``)."""
    for result, output in zip(list(model.get_results()), list(model.outputs), strict=True):
        if output.get_names() == {DROPPED_OUTPUT}:
            model.remove_result(result)
    openvino_module().save_model(model, str(xml), compress_to_fp16=False)


def convert_ir(onnx_file: Path, xml: Path) -> None:
    save_ir(openvino_module().Core().read_model(str(onnx_file)), xml)


def nncf_quantize(onnx_file: Path, dst: Path, preset: QuantPreset, calibration: list[dict[str, Any]]) -> None:
    """Static int8 IR of ``onnx_file`` (read again each time: NNCF changes the model it is given). The preset's
    excluded nodes (ONNX node names, which OpenVINO keeps as operation names) become NNCF's ignored scope;
    per-channel weights are NNCF's default for OpenVINO, so ``per_channel`` changes nothing here."""
    nncf = _nncf()
    model = openvino_module().Core().read_model(str(onnx_file))
    inputs = {name for port in model.inputs for name in port.get_names()}
    data = [{k: v for k, v in feeds.items() if k in inputs} for feeds in calibration]
    with contextlib.redirect_stdout(sys.stderr):  # its progress bars
        quantized = nncf.quantize(model, nncf.Dataset(data), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(data),  # batches: every calibration sentence
                                  ignored_scope=nncf.IgnoredScope(names=list(preset.nodes_to_exclude),
                                                                  validate=False))
    save_ir(quantized, dst)
