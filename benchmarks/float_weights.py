"""The weights an int8 file keeps in float, stored in fp32 or fp16 (``export.float_weights``): size, accuracy, batch
invariance and speed of the same int8 files, side by side.

The student is exported once through the package's export stage (``export.run_export``, this host's target,
static and dynamic int8, ``export.float_weights = "fp32"``); each int8 file is then rewritten with its float weights
in fp16 (``export.float_weights.store_float_weights_fp16``, what the export's last gate attempt writes). Both
versions of every file are measured in one process, in interleaved rounds (best round of each, so that machine
noise hits every file alike): size, STS-B dev Spearman and its retention of the fp32 file's (the gate's
``min_retention``), mean and minimum cosine to the fp32 file on held-back corpus sentences (the gate's
``min_cosine`` is on the mean), the cosine between the two versions, batch invariance (batch 1 against batches of 32
and 128: min cosine), batch-1 p50 and batch-32 throughput. "gate" says whether the export would keep the file
(with the default gate settings).

Reproduce (repo root, after scripts/setup.sh; any trained student, e.g. a short one):
    .venv/bin/compress distill --set data.max_sentences=3000 --set train.epochs=1 --out runs/q-student
    .venv/bin/python benchmarks/float_weights.py --student runs/q-student --data ../shared/data

Writes benchmarks/results/float_weights.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.config import ExportConfig, load_config
from compress.data import load_sts
from compress.io import write_text_atomic
from compress.machine import machine_info, machine_line
from compress.metrics import cosines, sts_spearman_from_embeddings
from export.artifact import layout
from export.artifact.encoder import OnnxEncoder
from export.artifact.host import host_target
from export.artifact.invariance import measure_invariance
from export.float_weights import float_weight_summary, store_float_weights_fp16
from export.runtime_bench import p50_ms, throughput
from export.stage import heldback_sentences, run_export

RESULTS = results_dir(__file__)
ROUNDS = 3
KINDS = (layout.QuantKind.STATIC, layout.QuantKind.DYNAMIC)


def exported(student: Path, data: Path, work: Path, target: str) -> Path:
    out = work / "artifact-fp32"
    if (out / layout.EXPORT_REPORT).is_file():
        report = json.loads((out / layout.EXPORT_REPORT).read_text())
        if all(e.get("float_weights", {}).get("dtype", "fp32") != "fp16" for e in report["quantized"].values()):
            logging.info("%s: reusing the export with float_weights = fp32", out)
            return out
    config = load_config(None, [f"data.corpus='{data}/corpus/sentences.txt.gz'",
                                f"data.sts_dev='{data}/stsb/dev.csv'", f"export.targets=['{target}']",
                                "export.openvino='off'", "export.ort_format=false", "export.float_weights='fp32'"])
    run_export(config, student, out)
    return out


def timed(encoders: dict[str, OnnxEncoder], texts: list[str]) -> dict[str, dict[str, float]]:
    best = {k: {"b1_p50_ms": float("inf"), "b32_per_s": 0.0} for k in encoders}
    for encoder in encoders.values():
        encoder.encode(texts[:128], batch_size=32)  # warm-up: kernels for new shapes
    for _ in range(ROUNDS):
        for name, encoder in encoders.items():
            best[name]["b1_p50_ms"] = min(best[name]["b1_p50_ms"], p50_ms(encoder, texts[:100]))
            best[name]["b32_per_s"] = max(best[name]["b32_per_s"], throughput(encoder, texts))
    return best


def measured(encoder: OnnxEncoder, path: Path, reference: np.ndarray, texts: list[str], sts: Any,
             fp32_spearman: float) -> tuple[dict[str, Any], np.ndarray]:
    gate = ExportConfig()
    vectors = encoder.encode(texts)
    invariance = measure_invariance(encoder.encode, texts, gate.invariance_min_cosine).min_cosine
    similarity = cosines(vectors, reference)
    spearman = sts_spearman_from_embeddings(encoder.encode(sts.sentences1), encoder.encode(sts.sentences2), sts)
    retention = 100 * spearman / fp32_spearman
    return {"size_mb": path.stat().st_size / 1e6, "float_weights": float_weight_summary(path),
            "sts_dev": spearman, "retention": retention, "cosine_fp32_mean": float(similarity.mean()),
            "cosine_fp32_min": float(similarity.min()), "batch_invariance_min_cosine": invariance,
            "gate": retention >= gate.min_retention and float(similarity.mean()) >= gate.min_cosine}, vectors


def measure(args: argparse.Namespace) -> dict[str, Any]:
    student, data, work = Path(args.student), Path(args.data), Path(args.work)
    target: str = args.target or host_target() or "avx2"
    folder = exported(student, data, work, target)
    report = json.loads((folder / layout.EXPORT_REPORT).read_text())
    texts = heldback_sentences(load_config(None, [f"data.corpus='{data}/corpus/sentences.txt.gz'"]),
                               student)[:args.sentences]
    sts, max_length = load_sts(data / "stsb/dev.csv"), layout.max_length_of(folder)
    fp32 = OnnxEncoder(folder / layout.OPTIMIZED, folder, max_length)
    reference = fp32.encode(texts)
    fp32_spearman = sts_spearman_from_embeddings(fp32.encode(sts.sentences1), fp32.encode(sts.sentences2), sts)
    rows: list[dict[str, Any]] = []
    vectors: dict[str, np.ndarray] = {}
    encoders: dict[str, OnnxEncoder] = {}
    for kind in KINDS:
        file = layout.quantized_file(target, kind)
        fp16 = work / f"{Path(file).stem}_fp16_weights.onnx"
        store_float_weights_fp16(folder / file, fp16)
        for dtype, path in (("fp32", folder / file), ("fp16", fp16)):
            name = f"{file} ({dtype})"
            encoders[name] = OnnxEncoder(path, folder, max_length)
            row, vectors[name] = measured(encoders[name], path, reference, texts, sts, fp32_spearman)
            rows.append({"file": file, "weights": dtype, "excluded": len(
                report["quantized"][file]["settings"]["nodes_to_exclude"]), **row})
    speed = timed(encoders, texts)
    for row in rows:
        name, other = (f"{row['file']} ({w})" for w in (row["weights"], "fp32" if row["weights"] == "fp16" else "fp16"))
        row.update(speed[name])
        row["cosine_other_mean"] = float(cosines(vectors[name], vectors[other]).mean())
    return {"command": command_line(__file__), "machine": machine_info(),
            "student": str(student), "student_training": _training(student), "target": target,
            "sentences": len(texts), "fp32_sts_dev": fp32_spearman,
            "rows": rows}


def _training(student: Path) -> dict[str, Any]:
    training = json.loads((student / "distill_report.json").read_text())["training"]
    return {key: training[key] for key in ("sentences", "epochs")}


def markdown(doc: dict[str, Any]) -> str:
    gate = ExportConfig()
    lines = ["# int8 files with their float weights in fp32 or fp16 (`export.float_weights`)", "",
             f"Command: `{doc['command']}`", "", machine_line(doc["machine"]), "",
             f"Student `{doc['student']}` ({doc['student_training']['sentences']:,} training sentences x "
             f"{doc['student_training']['epochs']:g} epochs; fp32 file: STS dev {doc['fp32_sts_dev']:.2f}), "
             f"target {doc['target']}. "
             f"Cosines on {doc['sentences']} held-back corpus sentences, to the fp32 file and between the two versions "
             "of a file; batch invariance: batch 1 against batches of 32 and 128 (min cosine); speed: best of "
             f"{ROUNDS} interleaved rounds. Gate: STS dev retention >= {gate.min_retention}% and mean cosine >= "
             f"{gate.min_cosine}.", "",
             "| file | float weights | tensors fp16 / fp32 | size MB | STS dev (retention) | gate | "
             "cos fp32 mean / min | cos other version | batch invariance | b1 p50 ms | b32 /s |",
             "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in doc["rows"]:
        fw = r["float_weights"]
        lines.append(f"| `{r['file']}` ({r['excluded']} nodes left out of int8) | {r['weights']} | "
                     f"{fw['fp16_tensors']} / {fw['fp32_tensors']} | {r['size_mb']:.2f} | "
                     f"{r['sts_dev']:.2f} ({r['retention']:.2f}%) | {'pass' if r['gate'] else 'FAIL'} | "
                     f"{r['cosine_fp32_mean']:.5f} / {r['cosine_fp32_min']:.4f} | {r['cosine_other_mean']:.5f} | "
                     f"{r['batch_invariance_min_cosine']:.7f} | {r['b1_p50_ms']:.2f} | {r['b32_per_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", help="a trained student folder (compress distill's output)")
    add_data_argument(parser)
    parser.add_argument("--work", default="runs/float-weights")
    parser.add_argument("--target", default=None, help="the int8 target (default: this host's)")
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--render", action="store_true", help="only rewrite the Markdown from the saved JSON")
    args = parser.parse_args()
    if args.render:
        saved = json.loads((RESULTS / "float_weights.json").read_text())
        write_text_atomic(RESULTS / "float_weights.md", markdown(saved))
        return
    if not args.student:
        parser.error("--student is required (a trained student folder)")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    doc = measure(args)
    write_results(RESULTS, "float_weights", doc, markdown(doc))
    print(json.dumps(doc["rows"], indent=1))


if __name__ == "__main__":
    main()
