"""The teacher's own cost: how fast each runtime and batch setting embeds the corpus, at the same targets.

The teacher's pass fills the embedding cache once per corpus sample; on a CPU without native bf16 it is the
largest part of a default run. This measures, on one chunk of the default recipe's corpus sample (sentences at the
teacher's 128 tokens) and on passages (256 tokens):

- PyTorch (sentence-transformers' ``encode``, how the cache calls it: one call per chunk, so batches are sorted by
  length within the chunk) at several batch sizes, and in corpus order (no sorting) to show what sorting buys;
- PyTorch with bf16 autocast (only where the CPU runs bf16 natively; elsewhere torch emulates it, slower than fp32);
- onnxruntime on the teacher's ONNX export (pooling and normalization inside) with and without the transformer
  fusions, length-sorted batches as well;
- onnxruntime on that export quantized to row-wise int8 for this CPU (``teacher.runtime = "onnxruntime-int8"``,
  where the CPU has an int8 target): faster, at targets that are no longer PyTorch's (its cosine says how far).

Each setting's sentences/s and its mean and minimum cosine to PyTorch fp32 (a cache's exact targets must stay within
0.9999). Settings run one after another in one process, the machine otherwise idle. One results file per kind of
CPU (``--name``): which runtime wins depends on bf16 and VNNI.

Reproduce (repo root, after scripts/setup.sh; ~15 minutes on 2 cores):
    .venv/bin/python benchmarks/teacher_runtime.py --data ../shared/data                       # AVX2-only CPU
    .venv/bin/python benchmarks/teacher_runtime.py --data ../shared/data --batch-sizes 32 --name teacher_runtime_vnni
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)
log = logging.getLogger("teacher_runtime")
Encode = Callable[[list[str]], np.ndarray]


def texts_for(data: Path, sentences: int, passages: int) -> tuple[list[str], list[str]]:
    """The first ``sentences`` of the default recipe's training sample, and ``passages`` built as the recipe does."""
    from compress.config import DataConfig
    from compress.data import corpus_of

    corpus = corpus_of(DataConfig(corpus=str(data / "corpus" / "sentences.txt.gz"), passages=passages,
                                  validation_passages=0))
    return corpus.train[:sentences], corpus.passages[:passages]


def timed(encode: Encode, texts: list[str]) -> tuple[np.ndarray, float]:
    encode(texts[:16])  # warm-up: first-call allocations and kernel choice
    start = time.perf_counter()
    vectors = np.asarray(encode(texts), dtype=np.float32)
    return vectors, time.perf_counter() - start


def torch_encoders(model: Any, batch_sizes: list[int]) -> dict[str, Encode]:
    import torch

    from compress.precision import bf16_native

    def sorted_call(batch: int, bf16: bool = False) -> Encode:
        def encode(texts: list[str]) -> np.ndarray:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model.encode(texts, batch_size=batch, convert_to_tensor=True).float().numpy()
        return encode

    def unsorted(texts: list[str]) -> np.ndarray:
        parts = [model.encode(texts[i:i + 32], batch_size=32) for i in range(0, len(texts), 32)]
        return np.concatenate(parts)

    encoders = {f"torch fp32 b{b}": sorted_call(b) for b in batch_sizes}
    encoders["torch fp32 b32, corpus order"] = unsorted
    if bf16_native("cpu"):
        encoders["torch bf16 b32"] = sorted_call(32, bf16=True)
    return encoders


def onnx_graphs(model_dir: Path, work: Path) -> dict[str, Path]:
    """The teacher exported as the student is (``export.onnx_export``), plain and fused, and quantized to row-wise
    int8 for this CPU as ``teacher.runtime = "onnxruntime-int8"`` quantizes it (where the CPU has an int8 target)."""
    from transformers import AutoConfig

    from compress.distill.teacher_runtime import GRAPH, int8_graph
    from export.artifact.host import host_target
    from export.artifact.layout import OPTIMIZED
    from export.onnx_export import export_onnx
    from export.optimize import model_type_for, optimize

    plain, fused = work / GRAPH, work / OPTIMIZED
    plain.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model_dir, plain, opset=17)
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    applied = optimize(plain, fused, model_type_for(config.architectures[0]), config.num_attention_heads,
                       config.hidden_size)
    graphs = {"onnxruntime fp32": plain, **({"onnxruntime fp32 fused": fused} if applied.applied else {})}
    if host_target() is not None:
        graphs["onnxruntime int8 row-wise"] = int8_graph(work)
    return graphs


def onnx_encoders(graphs: dict[str, Path], model_dir: Path, max_length: int,
                  batch_sizes: list[int]) -> dict[str, Encode]:
    from compress.distill.teacher_runtime import sorted_encode
    from export.artifact.encoder import OnnxEncoder

    encoders: dict[str, Encode] = {}
    for label, graph in graphs.items():
        encoder = OnnxEncoder(graph, model_dir, max_length)
        for batch in batch_sizes:
            encoders[f"{label} b{batch}"] = sorted_encode(encoder, batch)
    return encoders


def measure(encoders: dict[str, Encode], texts: list[str], reference: list[np.ndarray]) -> list[dict[str, Any]]:
    """One row per encoder; an empty ``reference`` takes the first encoder's vectors."""
    rows = []
    for label, encode in encoders.items():
        vectors, seconds = timed(encode, texts)
        if not reference:
            reference.append(vectors)
        ref = reference[0]
        cos = np.sum(vectors * ref, axis=1) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(ref, axis=1))
        rows.append({"setting": label, "texts_per_s": round(len(texts) / seconds, 2), "seconds": round(seconds, 1),
                     "cosine_mean": round(float(cos.mean()), 7), "cosine_min": round(float(cos.min()), 7)})
        log.info("%s: %.1f texts/s, cosine %.7f", label, len(texts) / seconds, cos.mean())
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from compress.models import load_sentence_transformer, mpnet_path

    sentences, passages = texts_for(args.data, args.sentences, args.passages)
    model_dir = mpnet_path()
    model = load_sentence_transformer(str(model_dir), device="cpu")
    doc: dict[str, Any] = {"command": command_line(__file__),
                           "machine": machine_info(), "torch_threads": torch.get_num_threads(), "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = onnx_graphs(model_dir, Path(tmp))
        for name, texts, length in (("sentences", sentences, 128), ("passages", passages, 256)):
            model.max_seq_length = length
            encoders = torch_encoders(model, args.batch_sizes)
            encoders = {"torch fp32 b32": encoders.pop("torch fp32 b32"), **encoders}
            reference: list[np.ndarray] = []
            rows = measure(encoders, texts, reference)
            rows += measure(onnx_encoders(graphs, model_dir, length, args.batch_sizes), texts, reference)
            doc["sets"][name] = {"texts": len(texts), "max_tokens": length, "rows": rows}
    return doc


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# The teacher's pass: runtimes and batch settings", "", f"Command: `{doc['command']}`", "",
             machine_line(doc["machine"]) + f" PyTorch threads: {doc['torch_threads']}.", "",
             "all-mpnet-base-v2 embedding the default recipe's corpus sample (sentences, 128 tokens) and passages "
             "built as `data.passages` builds them (256 tokens). Cosine: to PyTorch fp32 at batch 32, row by row.",
             ""]
    for name, entry in doc["sets"].items():
        lines += [f"## {name} ({entry['texts']} texts, up to {entry['max_tokens']} tokens)", "",
                  "| setting | texts/s | vs torch fp32 b32 | cosine mean | cosine min |", "|---|---:|---:|---:|---:|"]
        base = entry["rows"][0]["texts_per_s"]
        lines += [f"| {r['setting']} | {r['texts_per_s']:.1f} | {r['texts_per_s'] / base:.2f}x | "
                  f"{r['cosine_mean']:.7f} | {r['cosine_min']:.7f} |" for r in entry["rows"]]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--passages", type=int, default=96)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--name", default="teacher_runtime",
                        help="results file stem (one per machine kind: the CPU decides which runtime wins)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    doc = run(args)
    write_results(RESULTS, args.name, doc, markdown(doc) + "\n")
    print(json.dumps({name: entry["rows"] for name, entry in doc["sets"].items()}, indent=1))


if __name__ == "__main__":
    main()
