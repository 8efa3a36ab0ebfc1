"""Which 4 of all-MiniLM-L6-v2's 6 layers the default student keeps, chosen on STS-B dev and the corpus.

Reproduce (repo root, after `compress run` filled the teacher cache; about 20 minutes on 2 cores):
    .venv/bin/python benchmarks/layer_choice.py

1. Every 4-of-6 subset, untrained: the cut encoder + the least-squares 384->768 projection that the recipe starts
   from (fit on the first 4,096 training sentences' cached teacher embeddings, as `build_student` does); STS-B
   dev and mean cosine to the teacher on the held-back corpus sentences.
2. The best subsets and the previous default, trained as the recipe trains (`compress distill` with the default
   config) but on a third of an epoch (20k sentences): STS-B dev and held-back cosine choose; STS-B test is
   recorded beside, never used to choose.

Writes benchmarks/results/layer_choice.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.results import command_line, results_dir, write_results
from compress.config import Config, load_config

RESULTS = results_dir(__file__)
ROOT = Path(__file__).resolve().parents[1]
FIT = 4096


def untrained(config: Config) -> list[dict[str, Any]]:
    """STS dev and held-back cosine of every 4-layer cut, with the least-squares projection only."""
    from compress.data import load_corpus, load_sts
    from compress.distill.students.pretrained import add_projection
    from compress.distill.students.pruned import prune_layers
    from compress.distill.teacher_cache import teacher_embeddings
    from compress.metrics import cosines, sts_spearman_from_embeddings
    from compress.models import load_sentence_transformer

    d = config.data
    corpus = load_corpus(Path(d.corpus), d.column, d.max_sentences, d.validation_sentences, d.seed)
    teacher = load_sentence_transformer(config.teacher.model, "cpu")
    teacher.max_seq_length = config.teacher.max_seq_length or teacher.max_seq_length
    targets = teacher_embeddings(teacher, corpus.all, corpus.fingerprint(), Path(config.output.cache_dir),
                                 config.teacher.batch_size, config.teacher.chunk_size, False, config.teacher.precision)
    heldback = np.asarray(targets[len(corpus.train):])
    dev = load_sts(Path(d.sts_dev or ""))
    rows = []
    for keep in itertools.combinations(range(6), 4):
        model = prune_layers(load_sentence_transformer(config.student.model, "cpu"), list(keep))
        model = add_projection(model, corpus.train[:FIT], np.asarray(targets[:FIT]), True)
        dev1, dev2, held = (model.encode(texts, batch_size=64, convert_to_numpy=True)
                            for texts in (dev.sentences1, dev.sentences2, corpus.validation))
        rows.append({"keep": list(keep), "sts_dev": sts_spearman_from_embeddings(dev1, dev2, dev),
                     "heldback_cosine": float(cosines(held, heldback).mean())})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def trained(keep: list[int], epochs: float, work: Path) -> dict[str, Any]:
    """``compress distill`` with the default recipe, these layers, ``epochs`` of the cached sample."""
    out = work / ("layers-" + "".join(map(str, keep)))
    command = [sys.executable, "-m", "compress", "--quiet", "distill", "--config",
               str(ROOT / "compress" / "defaults" / "default.toml"), "--out", str(out),
               "--set", f"student.keep_layers={json.dumps(keep)}", "--set", f"train.epochs={epochs}",
               "--set", "train.eval_steps=300"]
    subprocess.run(command, check=True, cwd=ROOT)
    report = json.loads((out / "distill_report.json").read_text())
    scores = report["sts_spearman"]["student"]
    return {"keep": keep, "sts_dev": scores["sts_dev"], "heldback_cosine": report["validation"]["cosine"],
            "sts_test": scores["sts_test"], "train_sentences": report["training"]["sentences"],
            "train_seconds": report["training"]["seconds"]}


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# Default student: which 4 of all-MiniLM-L6-v2's 6 layers", "", f"Command: `{doc['command']}`", "",
             "## Untrained: the cut encoder + least-squares projection (sorted by STS dev)", "",
             "| layers | STS dev | held-back cosine |", "|---|---:|---:|"]
    for r in sorted(doc["untrained"], key=lambda r: -r["sts_dev"]):
        lines.append(f"| {r['keep']} | {r['sts_dev']:.2f} | {r['heldback_cosine']:.4f} |")
    lines += ["", f"## Trained like the recipe, {doc['epochs']} epoch of the 59k sample (STS dev chooses; test "
              "only recorded)", "",
              "| layers | sample | sentences trained | STS dev | held-back cosine | STS test | train s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in doc["trained"]:
        seen = round(doc["epochs"] * r["train_sentences"])
        lines.append(f"| {r['keep']} | {r['train_sentences']:,} | {seen:,} | {r['sts_dev']:.2f} | "
                     f"{r['heldback_cosine']:.4f} | {r['sts_test']:.2f} | {r['train_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default="0,2,3,5;0,2,4,5;0,1,4,5", help="subsets to train, ';'-separated")
    parser.add_argument("--epochs", type=float, default=0.34)
    args = parser.parse_args()
    config = load_config(None, [])
    doc: dict[str, Any] = {"command": command_line(__file__),
                           "epochs": args.epochs, "untrained": untrained(config)}
    with tempfile.TemporaryDirectory(prefix="layer-choice-") as tmp:
        doc["trained"] = [trained([int(i) for i in s.split(",")], args.epochs, Path(tmp))
                          for s in args.train.split(";")]
    write_results(RESULTS, "layer_choice", doc, markdown(doc))


if __name__ == "__main__":
    main()
