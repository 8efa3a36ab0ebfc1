"""Batch invariance: does a text get the same vector alone as in a batch of other texts?

Dynamic int8 scales each activation tensor by its own range, pads included, so a text's vector depends on its
batch; fp32, static (calibrated) and row-wise int8 files do not, up to float rounding. That rounding belongs to
the CPU's kernels, not to the file (arm64's float kernels round batch shapes differently from x86's), so each
measurement records the instruction set it was made on, and only a host with that instruction set trusts it.

``python -m export.artifact.invariance SPEC`` measures files of an artifact in another interpreter (an emulated arm64
one, ``export.emulated``) and prints one JSON line: file -> measurement."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

BATCH_SIZES = (32, 128)
SENTENCES = 128
DEFAULT_FLOOR = 0.9999  # batch 1 vs larger batches: the min cosine of an invariant file (export.invariance_min_cosine)
Encode = Callable[[list[str], int], np.ndarray]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``compress.metrics.cosines``, kept here: this module runs in an emulated interpreter that has numpy and
    onnxruntime but not the package's other dependencies."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.asarray((a * b).sum(axis=1))


@dataclass(frozen=True)
class Invariance:
    min_cosine: float  # batch 1 vs each of ``batch_sizes``, over ``sentences`` texts
    mean_cosine: float
    sentences: int
    batch_sizes: tuple[int, ...]
    invariant: bool  # min_cosine >= floor
    floor: float
    isa: str  # the int8 instruction set of the CPU it was measured on (``export.artifact.host.host_isa``)
    runtime: str  # what ran the file there

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "batch_sizes": list(self.batch_sizes)}


def measure_invariance(encode: Encode, sentences: list[str], floor: float, texts: int = SENTENCES,
                       batch_sizes: tuple[int, ...] = BATCH_SIZES, isa: str | None = None,
                       runtime: str | None = None) -> Invariance:
    """Each of (at most) ``texts`` sentences alone, against the same sentences in batches of ``batch_sizes`` (in
    the given order: mixed lengths, as a caller's batches are). ``encode(texts, batch_size)``: any runtime's; ``isa``
    and ``runtime``: where it runs (default: this host, onnxruntime)."""
    chosen = sentences[:texts]
    alone = np.concatenate([encode([t], 1) for t in chosen])
    found = [_cosines(encode(chosen, size), alone) for size in batch_sizes]
    worst = min(float(c.min()) for c in found)
    return Invariance(worst, float(np.mean([c.mean() for c in found])), len(chosen), batch_sizes, worst >= floor,
                      floor, isa or _host_isa(), runtime or _onnxruntime())


def _host_isa() -> str:
    from export.artifact.host import host_isa

    return host_isa()


def _onnxruntime() -> str:
    import platform

    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__} ({platform.machine()})"


WORDS = ("the", "a", "of", "to", "and", "in", "for", "on", "with", "by", "from", "at", "as", "is", "was", "are",
         "be", "it", "this", "that", "which", "model", "text", "search", "query", "document", "index", "vector",
         "small", "fast", "device", "server", "phone", "board", "battery", "memory", "latency", "batch", "token",
         "sentence", "word", "long", "short", "quickly", "slowly", "never", "always", "river", "city", "music",
         "history", "science", "water", "light", "energy", "market", "policy", "health", "school", "garden",
         "winter", "summer", "train", "station", "bridge", "window", "paper", "letter", "number", "question",
         "answer", "why", "how", "what", "where", "when", "who", "new", "old", "large", "early", "late", "red",
         "green", "blue", "first", "last", "open", "closed")


def probe_texts(count: int = SENTENCES, seed: int = 0) -> list[str]:
    """Texts of 1 to 48 words in mixed order (the same every call): what a host measures a file's invariance on
    when its artifact holds no measurement from this host's instruction set."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.choice((1, 2, 3, 5, 8, 12, 16, 24, 32, 48))))
            for _ in range(count)]


def main(spec_path: str) -> None:
    """Measure ``spec["files"]`` of the artifact at ``spec["folder"]`` (``spec["max_length"]`` tokens) on
    ``spec["sentences"]`` against batches of ``spec["batch_sizes"]`` with this
    interpreter's onnxruntime; print file -> measurement as one JSON line."""
    from export.artifact.encoder import OnnxEncoder

    spec = json.loads(Path(spec_path).read_text())
    folder = Path(spec["folder"])
    out = {file: measure_invariance(OnnxEncoder(folder / file, folder, spec["max_length"]).encode,
                                    spec["sentences"], spec["floor"], batch_sizes=tuple(spec["batch_sizes"]),
                                    isa=spec["isa"],
                                    runtime=spec["runtime"]).to_dict() for file in spec["files"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
