"""int8 quantization of an ONNX file: dynamic (per preset) or static QDQ (calibrated on sentences)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compress.config import Calibration
from export.artifact.encoder import OnnxEncoder
from export.presets import QuantPreset


def _qtype(name: str) -> Any:
    from onnxruntime.quantization import QuantType

    return getattr(QuantType, name)


def quantize_dynamic(src: Path, dst: Path, preset: QuantPreset) -> None:
    import onnx
    from onnxruntime.quantization import quantize_dynamic as ort_quantize_dynamic

    # Fused graphs hold com.microsoft ops that ONNX shape inference cannot type: their outputs are float.
    ort_quantize_dynamic(src, dst, op_types_to_quantize=list(preset.op_types), per_channel=preset.per_channel,
                         reduce_range=preset.reduce_range, weight_type=_qtype(preset.weight_type),
                         nodes_to_exclude=list(preset.nodes_to_exclude),
                         extra_options={"EnableSubgraph": False, "MatMulConstBOnly": True,
                                        "DefaultTensorType": onnx.TensorProto.FLOAT})
    _remove_inferred(src)


def _remove_inferred(src: Path) -> None:
    """onnxruntime leaves ``<model>-inferred.onnx`` (its shape-inferred copy) beside large inputs."""
    src.with_name(f"{src.stem}-inferred.onnx").unlink(missing_ok=True)


CALIBRATION_BATCH = 8  # sentences per calibration batch (onnxruntime's calibrator and NNCF alike)


class SentenceReader:
    """Feeds tokenized calibration sentences to onnxruntime's calibrator, one small batch at a time."""

    def __init__(self, encoder: OnnxEncoder, sentences: list[str],
                 batch_size: int = CALIBRATION_BATCH) -> None:
        self.batches: Iterator[dict[str, Any]] = iter(list(encoder.feed_batches(sentences, batch_size)))

    def get_next(self) -> dict[str, Any] | None:
        return next(self.batches, None)


def quantize_static(src: Path, dst: Path, preset: QuantPreset, reader: SentenceReader,
                    method: Calibration) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    methods = {Calibration.MINMAX: CalibrationMethod.MinMax, Calibration.ENTROPY: CalibrationMethod.Entropy,
               Calibration.PERCENTILE: CalibrationMethod.Percentile}
    ops = [op for op in preset.op_types if op in ("MatMul", "Gather")]
    ort_quantize_static(src, dst, reader, quant_format=QuantFormat.QDQ, op_types_to_quantize=ops,
                        per_channel=preset.per_channel, reduce_range=preset.reduce_range,
                        activation_type=_qtype(preset.activation_type), weight_type=_qtype("QInt8"),
                        nodes_to_exclude=list(preset.nodes_to_exclude), calibrate_method=methods[method],
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True,
                                       "MatMulConstBOnly": True})
    _remove_inferred(src)


def quantized_op_count(path: Path) -> dict[str, int]:
    """How many quantized ops and int8/uint8 initializers a graph holds (proof that it is really quantized)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    int_types = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8}
    quant_ops = {"MatMulInteger", "DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "QAttention",
                 "DynamicQuantizeMatMul", "QLinearMatMul", "MatMulIntegerToFloat"}
    return {"quantized_ops": sum(1 for n in model.graph.node if n.op_type in quant_ops),
            "int8_initializers": sum(1 for t in model.graph.initializer if t.data_type in int_types)}
