"""Quantization presets per CPU target (``preset_for``, from the target table ``compress.quant_targets``); their
settings are saved beside each file.

Dynamic int8 in onnxruntime quantizes activations to uint8 at run time. Weights:
- ``avx512_vnni``, ``avx512``, ``arm64``: int8 weights (u8 x s8 products use VNNI / SDOT without overflow).
- ``avx2``: uint8 weights (u8 x u8) because AVX2's u8 x s8 instruction (VPMADDUBSW) saturates its int16 sums;
  ``reduce_range`` (7-bit weights) is the other cure, used for ``avx512`` without VNNI as onnxruntime advises.

Weights are per-tensor by default: measured here side by side on all-MiniLM-L6-v2 (avx512_vnni host), per-channel
weights cost about 8% batch-1 latency. The accuracy gate switches per-channel on as its first retry.

Row-wise int8 (``export.rowwise``, ``rowwise_preset_for``) applies the weight scales to the float output, so its
weights are always per output column. Its activations are uint8 around 128 (values up to 255), so on AVX2 the
u8 x u8 cure is replaced by 7-bit int8 weights (``reduce_range``): two products of at most 255 x 63 fit VPMADDUBSW's
int16 sum, and onnxruntime keeps its fast u8 x s8 kernel (u8 x u8 measured 0.6x its speed on an AVX512-VNNI EPYC).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from compress.errors import CompressError
from compress.quant_targets import TARGETS, target_spec

DEFAULT_OPS = ("MatMul", "Gather", "Attention", "EmbedLayerNormalization")


@dataclass(frozen=True)
class QuantPreset:
    target: str
    weight_type: str  # "QInt8" | "QUInt8"
    activation_type: str = "QUInt8"
    per_channel: bool = False
    reduce_range: bool = False
    op_types: tuple[str, ...] = DEFAULT_OPS
    nodes_to_exclude: tuple[str, ...] = field(default_factory=tuple)

    def per_channel_weights(self) -> QuantPreset:
        return dataclasses.replace(self, per_channel=True)

    def excluding(self, nodes: list[str]) -> QuantPreset:
        return dataclasses.replace(self, nodes_to_exclude=tuple(sorted(set(self.nodes_to_exclude) | set(nodes))))

    def keeping_table(self) -> QuantPreset:
        """The embeddings left out of int8 (a plain Gather), to be stored in 4 bits after (``export.table``)."""
        kept = tuple(op for op in self.op_types if op not in ("Gather", "EmbedLayerNormalization"))
        return dataclasses.replace(self, op_types=kept)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["op_types"], data["nodes_to_exclude"] = list(self.op_types), list(self.nodes_to_exclude)
        return data


def preset_for(target: str) -> QuantPreset:
    """The preset of an int8 target, from its row in ``compress.quant_targets.TARGET_TABLE``."""
    try:
        spec = target_spec(target)
    except KeyError:
        raise CompressError(f"unknown target {target!r}", "choose from: " + ", ".join(TARGETS)) from None
    return QuantPreset(target=spec.name, weight_type=spec.weight_type, reduce_range=spec.reduce_range)


def rowwise_preset_for(target: str) -> QuantPreset:
    """The row-wise int8 preset of a target: per-column int8 weights, 7-bit where the preset has uint8 weights."""
    preset = preset_for(target)
    if preset.weight_type == "QUInt8":
        preset = dataclasses.replace(preset, weight_type="QInt8", reduce_range=True)
    return preset.per_channel_weights()
