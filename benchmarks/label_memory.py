"""Peak memory of the training dataset the trainer reads: texts and teacher target rows, built two ways.

``before``: the rows as Python lists into ``datasets.Dataset.from_dict`` (how the trainer built it before);
``now``: ``compress.distill.train.trainer.label_table`` (one float32 copy into an Arrow table, with its own
fingerprint). Each in a fresh process with random targets of the default recipe's shape (60,000 x 768) and the
corpus sample's texts; peak RSS is the process's own ru_maxrss, minus the same process's peak after the imports and
the inputs were made.

Reproduce (repo root, after scripts/setup.sh; a minute):
    .venv/bin/python benchmarks/label_memory.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)
ROWS, DIM = 60000, 768

CHILD = """
import resource, sys, time
import numpy as np
from datasets import Dataset
from compress.config import DataConfig
from compress.data import corpus_of
from compress.distill.train.trainer import label_table
texts = corpus_of(DataConfig(corpus=sys.argv[1], max_sentences={rows}, validation_sentences=0)).train
targets = np.random.default_rng(0).standard_normal(({rows}, {dim}), dtype=np.float32)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if sys.argv[2] == "before":
    dataset = Dataset.from_dict({{"sentence": texts, "label": np.asarray(targets).tolist()}})
else:
    table, fingerprint = label_table(texts, targets)
    dataset = Dataset(table, fingerprint=fingerprint)
seconds = time.perf_counter() - start
first = np.asarray(dataset[0]["label"], dtype=np.float32)
assert np.array_equal(first, targets[0])
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, seconds)
"""


def measure(data: Path, how: str) -> dict[str, Any]:
    corpus = str(data / "corpus" / "sentences.txt.gz")
    done = subprocess.run([sys.executable, "-c", CHILD.format(rows=ROWS, dim=DIM), corpus, how],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr)
    base, peak, seconds = done.stdout.split()
    return {"how": how, "added_peak_mb": round((int(peak) - int(base)) / 1024), "peak_rss_mb": round(int(peak) / 1024),
            "seconds": round(float(seconds), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    args = parser.parse_args()
    rows = [measure(args.data, how) for how in ("before", "now")]
    doc = {"command": command_line(__file__), "machine": machine_info(),
           "rows": rows, "shape": [ROWS, DIM]}
    print(json.dumps(rows), file=sys.stderr)
    lines = ["# Memory of the training dataset (texts and target rows)", "", f"Command: `{doc['command']}`", "",
             f"Machine: {machine_line(doc['machine'])}", "",
             f"{ROWS:,} corpus sentences with {DIM}-dim float32 targets, each way in a fresh process.", "",
             "| built | memory added at peak MB | process peak MB | seconds |", "|---|---:|---:|---:|"]
    names = {"before": "Python lists into `Dataset.from_dict` (before)",
             "now": "one float32 Arrow table and its fingerprint (now)"}
    lines += [f"| {names[r['how']]} | {r['added_peak_mb']} | {r['peak_rss_mb']} | {r['seconds']} |" for r in rows]
    write_results(RESULTS, "label_memory", doc, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
