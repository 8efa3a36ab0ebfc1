"""Where an int8 file's time goes: kernel time per op type (onnxruntime's profiler), the padding share, and the
model's int8 operations per sentence against the cores' int8 peak (from the ISA and the clock)."""

from __future__ import annotations

import collections
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from export.artifact import layout
from export.artifact.encoder import OnnxEncoder
from export.artifact.host import host_isa

# int8 multiply-accumulates per cycle per core: AVX2 (vpmaddubsw + vpmaddwd, 2 ports): 32; AVX512-VNNI (vpdpbusd
# zmm, 2 ports on Intel servers, 1 on AMD Zen 4): 128; AMX-INT8 (TMUL): 1024.
MACS_PER_CYCLE = {"amx": 1024, "avx512_vnni": 128}
AVX2_MACS_PER_CYCLE = 32


def op_profile(path: Path, folder: Path, texts: list[str], batch: int, threads: int | None = None) -> dict[str, Any]:
    """Kernel time per op type over ``texts`` in batches of ``batch`` (in the given order), and the padding share."""
    import onnxruntime as ort

    encoder = OnnxEncoder(path, folder, layout.max_length_of(folder), threads)
    feeds = list(encoder.feed_batches(texts, batch))
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.enable_profiling, options.profile_file_prefix = True, str(Path(tmp) / "profile")
        options.intra_op_num_threads = encoder.threads or 0
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for feed in feeds:
            session.run([layout.OUTPUT], {k: v for k, v in feed.items() if k in encoder.inputs})
        events = json.loads(Path(session.end_profiling()).read_text())
    per_op: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"]
    total = sum(per_op.values())
    tokens = sum(f["attention_mask"].size for f in feeds)
    real = sum(int(f["attention_mask"].sum()) for f in feeds)
    return {"batch": batch, "kernel_ms": total / 1000, "padding_share": 1 - real / tokens,
            "op_share": {op: v / total for op, v in per_op.most_common(12)}}


def ops_per_sentence(folder: Path, texts: list[str]) -> dict[str, float]:
    """int8 operations per sentence (2 per multiply-accumulate): the encoder layers' weights times the mean real
    tokens, attention's two products, and a projection to a wider output applied once per sentence."""
    config = json.loads((folder / "config.json").read_text())
    hidden, layers, inter = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    encoder = OnnxEncoder(folder / layout.FP32, folder, layout.max_length_of(folder))
    lengths = [int(m.sum()) for m in encoder.feeds(texts)["attention_mask"]]  # real tokens, not the padding
    mean_tokens, mean_sq = float(np.mean(lengths)), float(np.mean(np.square(lengths)))
    macs = layers * (mean_tokens * (4 * hidden * hidden + 2 * hidden * inter) + 2 * mean_sq * hidden)
    width = encoder.output_dim() or hidden
    macs += hidden * width if width != hidden else 0
    return {"mean_tokens": mean_tokens, "ops_per_sentence": 2 * macs}


def int8_peak(cores: int | None = None) -> dict[str, float]:
    """The cores' peak int8 operations per second: ``cores`` (default: those this process may use) x the highest
    clock /proc/cpuinfo reports x the ISA's multiply-accumulates per cycle x 2."""
    mhz = max(float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines()
              if line.startswith("cpu MHz"))
    per_cycle = MACS_PER_CYCLE.get(host_isa(), AVX2_MACS_PER_CYCLE)
    count = cores or len(os.sched_getaffinity(0))
    return {"clock_mhz": mhz, "cores": count, "int8_macs_per_cycle_per_core": per_cycle,
            "peak_int8_ops_per_s": 2 * per_cycle * mhz * 1e6 * count}


def limit(folder: Path, texts: list[str], measured_per_s: float, cores: int | None = None) -> dict[str, Any]:
    """The model's int8 work per sentence against the cores' peak, and the measured share of it."""
    work, peak = ops_per_sentence(folder, texts), int8_peak(cores)
    return {**work, **peak, "limit_sentences_per_s": peak["peak_int8_ops_per_s"] / work["ops_per_sentence"],
            "measured_per_s": measured_per_s,
            "share_of_peak": measured_per_s * work["ops_per_sentence"] / peak["peak_int8_ops_per_s"]}
