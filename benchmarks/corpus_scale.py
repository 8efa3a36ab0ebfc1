"""Corpora of millions of sentences: time and peak memory of the corpus stage and the teacher-cache stage.

For each corpus size the corpus stage (read, dedup, seeded sample of ``data.max_sentences``, held-back slice; the
package's ``compress.data.corpus_of``) and the cache stage (the same, then
``compress.distill.teacher_cache.cached_embeddings``
filling the teacher cache of the sample) run in a fresh process each, whose peak resident memory (ru_maxrss) and
wall time are recorded. The cache stage embeds with a small random BERT built here, so its numbers are the
pipeline's own cost (sampling, chunk files, assembly), not a teacher's forward pass; it runs in float32 and float16.
The 0.4M corpus is the shared one; larger ones are made from it by a benchmark-only script step (copy ``k`` of a
sentence is prefixed ``"<k> "`` so it stays unique; 1% of lines repeat an earlier one, for dedup), written under
``--work`` and never committed. ``--before COMMIT`` also measures the reader of that commit (it held every line and
a set of them).

Reproduce (repo root, after scripts/setup.sh; ~15 min on 2 cores, 1.5 GB of disk under runs/):
    .venv/bin/python benchmarks/corpus_scale.py --data ../shared/data --sizes 0.4 2 10 --before aef79ad
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)
SAMPLE, HELD, CHUNK = 60000, 1000, 4096
CACHE_SAMPLE = 20000  # the cache stage's sample: its cost does not depend on the corpus size

CORPUS_STAGE = """
import sys, time
from compress.config import DataConfig
from compress.data import corpus_of
start = time.perf_counter()
corpus = corpus_of(DataConfig(corpus=sys.argv[1], max_sentences={sample}, validation_sentences={held}))
print(len(corpus.train), len(corpus.validation), time.perf_counter() - start,
      __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss)
"""

CACHE_STAGE = """
import sys, time, tempfile
from pathlib import Path
import numpy as np, torch
from compress.distill.teacher_cache import CacheKey, cached_embeddings
from compress.config import DataConfig
from compress.data import corpus_of
from transformers import BertConfig, BertModel, BertTokenizerFast
start = time.perf_counter()
corpus = corpus_of(DataConfig(corpus=sys.argv[1], max_sentences={sample}, validation_sentences={held}))
torch.manual_seed(0)
tokenizer = BertTokenizerFast.from_pretrained(sys.argv[3])
model = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=768, num_hidden_layers=1,
                             num_attention_heads=12, intermediate_size=256)).eval()
def encode(chunk):
    parts = []
    for i in range(0, len(chunk), 128):
        with torch.no_grad():
            feats = tokenizer(chunk[i:i + 128], padding=True, truncation=True, max_length=32, return_tensors="pt")
            out = model(**feats).last_hidden_state
            mask = feats["attention_mask"].unsqueeze(-1)
            parts.append(((out * mask).sum(1) / mask.sum(1)).numpy())
    return np.concatenate(parts)
key = CacheKey("random-bert", corpus.fingerprint(), 32, False, "fp32", sys.argv[2])
with tempfile.TemporaryDirectory() as cache:
    array = cached_embeddings(corpus.all, encode, key, Path(cache), chunk_size={chunk}, show_progress=False)
    size = sum(p.stat().st_size for p in Path(cache).rglob("embeddings.*"))
print(len(corpus.train), size, time.perf_counter() - start,
      __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss)
"""


def make_corpus(source: Path, millions: float, folder: Path) -> Path:
    """A synthetic corpus of ``millions`` lines from the shared one (unique copies, 1% repeated lines)."""
    path = folder / f"corpus-{millions:g}M.txt"
    if path.exists():
        return path
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        base = [line.strip() for line in handle if line.strip()]
    target, rng = int(millions * 1_000_000), random.Random(0)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        written, copy = 0, 0
        while written < target:
            for line in base:
                if written >= target:
                    break
                out.write((f"{copy} {line}" if copy else line) + "\n")
                written += 1
                if rng.random() < 0.01:  # a repeat, dropped by dedup
                    out.write(line + "\n")
                    written += 1
            copy += 1
    tmp.replace(path)
    return path


def measure(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter: wall time, and the peak RSS it reports of itself (its last output)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(done.stderr)
    output = done.stdout.split()
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(int(output[-1]) / 1024), "output": output}


def old_reader(commit: str, folder: Path) -> str:
    """The corpus stage of ``commit``'s reader (loaded from git, outside the package)."""
    source = subprocess.run(["git", "show", f"{commit}:compress/data/corpus.py"], capture_output=True, text=True,
                            check=True).stdout
    path = folder / f"corpus_{commit}.py"
    path.write_text(source)
    return f"""
import sys, time, importlib.util
spec = importlib.util.spec_from_file_location("old_corpus", {str(path)!r})
old = importlib.util.module_from_spec(spec); sys.modules["old_corpus"] = old; spec.loader.exec_module(old)
from pathlib import Path
start = time.perf_counter()
corpus = old.load_corpus(Path(sys.argv[1]), max_sentences={SAMPLE}, validation={HELD})
print(len(corpus.train), len(corpus.validation), time.perf_counter() - start,
      __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.4, 2, 10], help="millions of lines")
    parser.add_argument("--work", type=Path, default=Path("runs/corpus-scale"))
    parser.add_argument("--tokenizer", default=None, help="a BERT tokenizer folder (default: all-MiniLM-L6-v2's)")
    parser.add_argument("--before", default=None, help="also measure the corpus reader of this git commit")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    tokenizer = args.tokenizer or _minilm()
    source = args.data / "corpus" / "sentences.txt.gz"
    rows = []
    for millions in args.sizes:
        path = source if millions <= 0.4 else make_corpus(source, millions, args.work)
        row: dict[str, Any] = {"lines_m": millions, "file_mb": round(path.stat().st_size / 2**20)}
        row["corpus"] = measure(CORPUS_STAGE.format(sample=SAMPLE, held=HELD), str(path))
        for dtype in ("float32", "float16"):
            stage = CACHE_STAGE.format(sample=CACHE_SAMPLE, held=HELD, chunk=CHUNK)
            row[f"cache_{dtype}"] = measure(stage, str(path), dtype, tokenizer)
        if args.before:
            row["corpus_before"] = measure(old_reader(args.before, args.work), str(path))
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    command = command_line(__file__)
    doc = {"command": command, "machine": machine_info(), "sample": SAMPLE, "cache_sample": CACHE_SAMPLE,
           "held_back": HELD, "rows": rows}
    write_results(RESULTS, "corpus_scale", doc, render(doc))


def _minilm() -> str:
    from compress.models import resolve_model

    return str(resolve_model("all-MiniLM-L6-v2"))


def render(doc: dict[str, Any]) -> str:
    before = any("corpus_before" in r for r in doc["rows"])
    head = "| lines | file MB | corpus stage s | corpus peak MB |" + (" before s | before peak MB |" if before else "")
    head += " cache stage s (f32) | cache peak MB (f32) | cache file MB (f32 / f16) | cache peak MB (f16) |"
    lines = [
        "# Corpora of millions of sentences: the corpus and cache stages", "",
        f"Command: `{doc['command']}`", "", f"Machine: {machine_line(doc['machine'])}", "",
        f"Each stage in a fresh process: peak resident memory and wall time. Sample {doc['sample']:,} sentences "
        f"({doc['held_back']:,} held back). The cache stage samples {doc['cache_sample']:,} and fills their "
        "teacher cache with a random "
        "1-layer 768-wide BERT (the pipeline's cost, not a teacher's); it includes the corpus stage. Corpora "
        "above 0.4M lines are the shared corpus repeated with a copy number before each line, 1% of lines "
        "repeated.", "", head, "|" + "---:|" * (head.count("|") - 1),
    ]
    for r in doc["rows"]:
        cells = [f"{r['lines_m']:g}M", str(r["file_mb"]), str(r["corpus"]["seconds"]), str(r["corpus"]["peak_rss_mb"])]
        if before:
            old = r.get("corpus_before", {})
            cells += [str(old.get("seconds", "")), str(old.get("peak_rss_mb", ""))]
        f32, f16 = r["cache_float32"], r["cache_float16"]
        cells += [str(f32["seconds"]), str(f32["peak_rss_mb"]),
                  f"{int(f32['output'][1]) / 2**20:.0f} / {int(f16['output'][1]) / 2**20:.0f}", str(f16["peak_rss_mb"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
