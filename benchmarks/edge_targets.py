"""Edge targets benchmark: the default student's artifact on this x86 host, on emulated arm64 devices (rpi4, rpi5,
arm64-server: the arm64 int8 file on onnxruntime's aarch64 build under qemu-user), in transformers.js (Node and
headless Chromium), and with its embedding table shrunk (vocabulary pruning, a 4-bit table, both).

Reproduce (from the repo root, after scripts/setup.sh, which also installs the edge runtimes, and a default
`compress run`, whose student it exports again; the machine should be otherwise idle):
    .venv/bin/python benchmarks/edge_targets.py --student runs/release/student

Writes benchmarks/results/edge_targets.{json,md} and the harness's own benchmarks/results/edge_targets/bench.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.bench.stage import run_bench_stage
from compress.config import Config, Target, load_config
from compress.machine import machine_info, machine_line
from compress.metrics import cosines
from export.artifact import layout
from export.artifact.encoder import OnnxEncoder
from export.artifact.host import host_target
from export.stage import heldback_sentences, run_export

RESULTS = results_dir(__file__)
PROFILES = ["x86-server", "rpi4", "rpi5", "arm64-server", "node", "browser"]
VARIANTS = {"int8 table (default)": {}, "pruned vocabulary": {"prune_vocab": True},
            "4-bit table": {"embedding_bits": 4}, "pruned + 4-bit": {"prune_vocab": True, "embedding_bits": 4}}
SIZE_TARGET_MB, STS_KEPT = 12.0, 99.9


def _config(args: argparse.Namespace) -> Config:
    data = Path(args.data)
    return load_config(None, [f'data.corpus="{data}/corpus/sentences.txt.gz"', f'data.sts_dev="{data}/stsb/dev.csv"',
                              f'data.sts_test="{data}/stsb/test.csv"', f"bench.profiles={json.dumps(PROFILES)}",
                              f'bench.teacher="{args.teacher}"', "output.progress=false", *args.set])


def _variant(config: Config, changes: dict[str, Any], targets: list[Target]) -> Config:
    export = dataclasses.replace(config.export, targets=targets, ort_format=False, **changes)
    return dataclasses.replace(config, export=export)


def _embed(folder: Path, file: str, sentences: list[str]) -> np.ndarray:
    return OnnxEncoder(folder / file, folder, layout.max_length_of(folder)).encode(sentences)


def shrink(config: Config, student: Path, work: Path, heldback: list[str]) -> list[dict[str, Any]]:
    """Each way of shrinking the table, exported for this host's target: size, STS dev, cosine to the unshrunk
    artifact's file, and (pruning) how often tokenization changed."""
    from sentence_transformers import SentenceTransformer

    targets = [Target(host_target() or "avx2")]
    torch_student = SentenceTransformer(str(student), device="cpu").encode(heldback, convert_to_numpy=True)
    rows, base = [], None
    for name, changes in VARIANTS.items():
        folder = work / name.split(" (")[0].replace(" ", "-").replace("+", "and")
        report = run_export(_variant(config, changes, targets), student, folder).report
        base = base or folder
        row: dict[str, Any] = {"variant": name, "settings": changes, "fp32_sts_dev": report["fp32_sts_dev_spearman"],
                               "vocabulary": report.get("vocabulary"), "files": {}}
        for file, entry in report["quantized"].items():
            mine = _embed(folder, file, heldback)
            unshrunk = cosines(mine, _embed(base, file, heldback))  # the unshrunk file's vectors, embedded once
            row["files"][file] = {
                "size_mb": entry["size_bytes"] / 1e6, "sts_dev": entry["score"]["sts_dev_spearman"],
                "cosine_to_unshrunk": float(unshrunk.mean()), "cosine_to_unshrunk_min": float(unshrunk.min()),
                "cosine_to_pytorch_student": float(cosines(mine, torch_student).mean())}
        rows.append(row)
    reference = rows[0]
    for row in rows:
        for file, f in row["files"].items():
            f["sts_dev_kept_percent"] = 100 * f["sts_dev"] / reference["files"][file]["sts_dev"]
    return rows


def targets(bench: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    edge = {e["profile"]: e for e in bench["edge"] if e.get("status") == "ok"}
    checks = []
    for profile in ("rpi4", "rpi5", "arm64-server"):
        delta = edge[profile]["modes"]["onnxruntime"]["agreement"].get("sts_delta") if profile in edge else None
        checks.append({"target": f"{profile}: emulated STS test within 0.1 of the x86 run of the same file",
                       "value": delta, "limit": 0.1, "met": delta is not None and abs(delta) <= 0.1})
    for profile in ("node", "browser"):
        worst = min((m["agreement"]["min_cosine"] for m in edge[profile]["modes"].values()), default=None) \
            if profile in edge else None
        checks.append({"target": f"{profile}: cosine to Python >= 0.9999 (min over texts, both modes)",
                       "value": worst, "limit": 0.9999, "met": worst is not None and worst >= 0.9999})
    host_file = layout.quantized_file(host_target() or "avx2")
    fits = [(r["variant"], r["files"][host_file]) for r in rows if host_file in r["files"]
            and r["files"][host_file]["sts_dev_kept_percent"] >= STS_KEPT]
    smallest = min(fits, key=lambda vf: vf[1]["size_mb"], default=None)
    checks.append({"target": f"int8 file <= {SIZE_TARGET_MB} MB at >= {STS_KEPT}% of STS dev",
                   "value": smallest[1]["size_mb"] if smallest else None, "variant": smallest[0] if smallest else None,
                   "limit": SIZE_TARGET_MB, "met": bool(smallest) and smallest[1]["size_mb"] <= SIZE_TARGET_MB})
    return checks


def markdown(doc: dict[str, Any], bench_md: str) -> str:
    lines = ["# Edge targets", "", f"Command: `{doc['command']}`", "", machine_line(doc["machine"]), "",
             "## Targets", "", "| target | value | met |", "|---|---:|---|"]
    lines += [f"| {t['target']} | {t['value'] if t['value'] is None else round(t['value'], 6)} | "
              f"{'yes' if t['met'] else 'no'} |" for t in doc["targets"]]
    lines += ["", "## A smaller embedding table", "",
              "Each variant exported from the same student; cosine is to the unshrunk artifact's file for the same "
              "target, on held-back corpus sentences; STS dev kept is against the unshrunk file's STS dev.", "",
              "| variant | file | size MB | STS dev | kept % | cosine mean / min to unshrunk | cosine to PyTorch "
              "student | vocabulary | tokenization changed |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in doc["shrink"]:
        vocab = row["vocabulary"] or {}
        for file, f in row["files"].items():
            kept = f"{vocab['after']:,} of {vocab['before']:,}" if vocab else "all"
            changed = f"{100 * vocab['changed_on_heldback']:.2f}%" if vocab else "-"
            lines.append(f"| {row['variant']} | {file} | {f['size_mb']:.1f} | {f['sts_dev']:.2f} | "
                         f"{f['sts_dev_kept_percent']:.2f} | {f['cosine_to_unshrunk']:.5f} / "
                         f"{f['cosine_to_unshrunk_min']:.4f} | {f['cosine_to_pytorch_student']:.4f} | {kept} | "
                         f"{changed} |")
    body = bench_md.split("\n", 4)[-1]  # the harness's tables, without its title and command
    return "\n".join([*lines, "", "## The harness's run (every profile)", "", body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", default="runs/release/student", help="the default recipe's student folder")
    add_data_argument(parser)
    parser.add_argument("--work", default="runs/edge-targets", help="where the exported variants are kept")
    parser.add_argument("--teacher", default="auto", help="bench.teacher: auto (the recipe's), label=path or none")
    parser.add_argument("--set", action="append", default=[], help="another config override, section.key=value")
    parser.add_argument("--results", default=str(RESULTS), help="where to write the results")
    args = parser.parse_args()
    results = Path(args.results)
    config, student, work = _config(args), Path(args.student), Path(args.work)
    heldback = heldback_sentences(config, student)  # the ones distillation held back
    rows = shrink(config, student, work, heldback[:1000])
    base = work / "int8-table"
    default = run_export(config, student, work / "release-artifact").out_dir  # every target, as compress run does
    bench = run_bench_stage(config, command_line(__file__),
                            results / "edge_targets", subjects=[f"student={default}"], heldback=heldback)
    doc = {"schema": "st-compress/edge_targets/1", "command": bench["command"], "machine": machine_info(),
           "student": str(student), "shrink": rows, "targets": targets(bench, rows), "unshrunk": str(base)}
    write_results(results, "edge_targets", doc, markdown(doc, (results / "edge_targets" / "bench.md").read_text()))
    print(json.dumps(doc["targets"], indent=2))


if __name__ == "__main__":
    main()
