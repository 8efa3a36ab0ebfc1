"""Retrieval benchmark: the default recipe's artifact beside the teacher and all-MiniLM-L6-v2 on the shared
retrieval sets (CACM, NPL): nDCG@10 / recall@100 / MRR@10, retention, index compatibility (the student's queries
against the teacher's document embeddings), the student's cosine to the teacher on documents, queries and corpus
sentences, and what retrieval adds to the benchmark's time.

It is the default recipe's own bench stage (`compress bench` with the recipe: profiles x86-server and edge-1core,
STS-B test, both retrieval sets), with all-MiniLM-L6-v2 (PyTorch) as a peer.

Reproduce (repo root, after scripts/setup.sh and a default `compress run`; an otherwise idle machine; an empty
`--cache` measures the teacher's document embeddings too):
    .venv/bin/python benchmarks/retrieval.py --artifact runs/release

Writes benchmarks/results/retrieval.{json,md} and the harness's own benchmarks/results/retrieval/bench.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from compress.bench.results import command_line, results_dir, write_results
from compress.bench.stage import run_bench_stage
from compress.config import load_config
from compress.machine import machine_line

RESULTS = results_dir(__file__)
STUDENT, MINILM = "default student", "all-MiniLM-L6-v2 (torch)"
# Measured before retrieval was part of the harness, on a held-out collection of long abstracts (not shared):
HELD_OUT = {"teacher": 41.2, "minilm": 41.9, "student": 33.1, "index": 28.0, "doc_cosine": 0.65,
            "sentence_cosine": 0.76}


def _row(doc: dict[str, Any], model: str) -> dict[str, Any]:
    return next(e for e in doc["results"] if e["model"] == model and not e.get("accuracy_from"))


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """Per set: the issue's figures, measured; and the seconds retrieval added per model."""
    teacher, minilm, student = _row(doc, "teacher"), _row(doc, MINILM), _row(doc, STUDENT)
    sets = {}
    for name, t in teacher["retrieval"].items():
        s, index = student["retrieval"][name], student["index"][name]
        sets[name] = {"teacher_ndcg@10": t["ndcg@10"], "minilm_ndcg@10": minilm["retrieval"][name]["ndcg@10"],
                      "student_ndcg@10": s["ndcg@10"], "student_retention": s["retention_percent"],
                      "index_ndcg@10": index["ndcg@10"], "index_retention": index["retention_percent"],
                      "doc_cosine": index["doc_cosine"], "query_cosine": index["query_cosine"],
                      "recall@100": {"teacher": t["recall@100"], "student": s["recall@100"],
                                     "index": index["recall@100"]}}
    seconds = {e["model"]: e.get("retrieval_encode_s", {}) for e in (teacher, minilm, student)}
    return {"sets": sets, "sentence_cosine": (student.get("cosine") or {}).get("mean"), "student_file": student["file"],
            "encode_seconds": seconds, "held_out_before": HELD_OUT}


def markdown(doc: dict[str, Any], summary: dict[str, Any], command: str) -> str:
    lines = ["# Retrieval: the default student beside the teacher and all-MiniLM-L6-v2", "",
             f"Command: `{command}`", "", machine_line(doc["machine"]), "",
             f"nDCG@10 x100; the student is `{summary['student_file']}` of the default recipe's artifact. "
             "Index: the student's queries against the teacher's document embeddings.", "",
             "| set | teacher | MiniLM-L6 | student | student % | index (student->teacher) | index % | doc cosine "
             "| query cosine |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in summary["sets"].items():
        lines.append(f"| {name} | {s['teacher_ndcg@10']:.2f} | {s['minilm_ndcg@10']:.2f} | {s['student_ndcg@10']:.2f} "
                     f"| {s['student_retention']:.1f} | {s['index_ndcg@10']:.2f} | {s['index_retention']:.1f} | "
                     f"{s['doc_cosine']:.3f} | {s['query_cosine']:.3f} |")
    h = summary["held_out_before"]
    sides = list(dict.fromkeys(k for s in summary["encode_seconds"].values() for k in s))
    cosine = summary["sentence_cosine"]
    lines += ["", f"Student cosine to the teacher on held-back corpus sentences: {cosine or float('nan'):.3f}.",
              "", f"Before (a held-out collection of long abstracts, not shared): teacher {h['teacher']}, MiniLM-L6 "
              f"{h['minilm']}, student {h['student']}, index {h['index']}; doc cosine {h['doc_cosine']}, sentence "
              f"cosine {h['sentence_cosine']}.", "", "## What retrieval adds to the benchmark", "",
              "Seconds spent embedding the retrieval sets (cached afterwards; a rerun spends none):", "",
              "| model | " + " | ".join(sides) + " | total |", "|---|" + "---:|" * (len(sides) + 1)]
    lines += [f"| {m} | " + " | ".join(f"{s[k]:.0f}" if k in s else "cached" for k in sides)
              + f" | {sum(s.values()):.0f} |" for m, s in summary["encode_seconds"].items()]
    return "\n".join([*lines, "", "Full tables: [retrieval/bench.md](retrieval/bench.md)."]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", default="runs/release", help="the default recipe's artifact (release) folder")
    parser.add_argument("--cache", default=".cache/st-compress", help="output.cache_dir (embedding cache)")
    parser.add_argument("--set", action="append", default=[], help="more config overrides (section.key=value)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = command_line(__file__)
    config = load_config(None, [f"bench.models={json.dumps([f'{MINILM}=all-MiniLM-L6-v2'])}",
                                f"output.cache_dir={json.dumps(args.cache)}", "output.progress=false", *args.set])
    doc = run_bench_stage(config, command, RESULTS / "retrieval", subjects=[f"{STUDENT}={args.artifact}"])
    summary = summarize(doc)
    write_results(RESULTS, "retrieval", {"command": command, "machine": doc["machine"], **summary},
                  markdown(doc, summary, command))
    print(json.dumps(summary["sets"], indent=2))


if __name__ == "__main__":
    main()
