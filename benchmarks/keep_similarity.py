"""``loss.keep``: does holding the pretrained student's own similarities while it distills keep more of what it knew?

Each variant is the package's distill stage (``compress.distill.stage.distill``) on the default recipe with a smaller
sample and fewer epochs (``--sample``, ``--epochs``: the teacher cache of that sample is shared by every variant) and
``loss.keep`` at the given weight; weight 0 is the recipe itself, or ``--baseline DIR``, a student already trained
with exactly those settings (e.g. ``compress distill --set train.budget_minutes=20``'s, which chose them). Measured
on the PyTorch students: STS-B dev and the held-back cosine to the teacher (from the distill report), and the
nDCG@10 of each student alone on the shared retrieval sets (its own queries and documents; no teacher index here),
beside the published all-MiniLM-L6-v2's. STS-B test is not read.

``--config`` runs another recipe the same way (e.g. ``configs/accurate.toml``, all six layers), ``--name`` names its
results, and ``--skip-retrieval`` leaves out the retrieval sets (minutes of document embedding per student).

Reproduce (repo root, after scripts/setup.sh; about 12 minutes per weight on 2 cores, plus the sample's teacher pass):
    .venv/bin/python benchmarks/keep_similarity.py --weights 0.02 0.1 --baseline runs/budget-20
    .venv/bin/python benchmarks/keep_similarity.py --config configs/accurate.toml --name keep_similarity_accurate \
        --sample 10000 --weights 0.1 --skip-retrieval
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
from compress.bench.retrieval.evaluate import NDCG, score
from compress.config import Config, SearchKind, load_config
from compress.data.beir import load_beir
from compress.data.sts import load_sts
from compress.distill.stage import distill
from compress.machine import machine_info, machine_line
from compress.metrics import sts_spearman
from compress.models import load_sentence_transformer

RESULTS = results_dir(__file__)
SETS = ("cacm", "npl")


def alone(model_dir: str, data: Path) -> dict[str, float]:
    """nDCG@10 x100 of a model's own queries against its own documents, per retrieval set."""
    model = load_sentence_transformer(model_dir)
    out = {}
    for name in SETS:
        rset = load_beir(data / "retrieval" / name, name)
        queries, docs = (np.asarray(model.encode(texts, batch_size=32, normalize_embeddings=True))
                         for texts in (rset.queries, rset.docs))
        out[name] = round(score(queries, docs, rset, SearchKind.EXACT)[NDCG], 2)  # x100 already
    return out


def row(name: str, weight: float, student_dir: Path, report: dict[str, Any], data: Path | None) -> dict[str, Any]:
    return {"variant": name, "keep": weight, "student": str(student_dir),
            "sts_dev": report["sts_spearman"]["student"].get("sts_dev"),
            "heldback_cosine": report["validation"].get("cosine"),
            "train_minutes": round(report["training"]["seconds"] / 60, 1),
            "ndcg@10": alone(str(student_dir), data) if data else None}


def _ndcg(scores: dict[str, float] | None) -> str:
    return " | ".join(f"{scores[name]:.2f}" if scores else "not run" for name in SETS)


def markdown(doc: dict[str, Any]) -> str:
    minilm = doc["minilm_ndcg@10"]
    published = "The published all-MiniLM-L6-v2 (all six layers, no distillation)"
    if doc.get("minilm_sts_dev") is not None:
        published += f": STS-B dev {doc['minilm_sts_dev']:.2f}"
    published += f"; alone: CACM {minilm['cacm']:.2f}, NPL {minilm['npl']:.2f}." if minilm else "."
    lines = ["# loss.keep: the pretrained student's own similarities, held while it distills", "",
             f"Command: `{doc['command']}`", "", machine_line(doc["machine"]), "",
             f"{doc.get('recipe', 'Default recipe')} with data.max_sentences={doc['sample']}, train.epochs="
             f"{doc['epochs']:g}; PyTorch students. STS-B dev x100; cosine to the teacher on the held-back corpus "
             "sentences; nDCG@10 x100 of the student alone (its queries on its own documents). " + published, "",
             "| variant | loss.keep | STS-B dev | held-back cos | CACM nDCG@10 | NPL nDCG@10 | train min |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in doc["results"]:
        lines.append(f"| {r['variant']} | {r['keep']:g} | {r['sts_dev']:.2f} | {r['heldback_cosine']:.4f} | "
                     f"{_ndcg(r['ndcg@10'])} | {r['train_minutes']:.1f} |")
    return "\n".join(lines) + "\n"


def minilm_sts_dev(config: Config) -> float | None:
    """The published all-MiniLM-L6-v2's STS-B dev Spearman x100 (the student before distillation)."""
    if not config.data.sts_dev:
        return None
    model = load_sentence_transformer(config.student.model)
    return round(sts_spearman(model, load_sts(Path(config.data.sts_dev))), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.02, 0.1])
    parser.add_argument("--sample", type=int, default=11000)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--baseline", type=Path, help="a student trained with these settings and loss.keep = 0")
    parser.add_argument("--work", type=Path, default=Path("runs/keep"))
    parser.add_argument("--config", type=Path, help="a recipe other than the default (e.g. configs/accurate.toml)")
    parser.add_argument("--name", default="keep_similarity", help="results file stem under benchmarks/results")
    parser.add_argument("--skip-retrieval", action="store_true", help="STS-B dev and held-back cosine only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    base = [f"data.max_sentences={args.sample}", f"train.epochs={args.epochs}"]
    jobs = [(0.0, args.baseline)] + [(w, None) for w in args.weights if w > 0]
    data = None if args.skip_retrieval else args.data
    recipe = load_config(args.config, base)
    doc: dict[str, Any] = {"command": command_line(__file__),
                           "machine": machine_info(), "sample": args.sample, "epochs": args.epochs,
                           "recipe": f"`{args.config}`" if args.config else "Default recipe",
                           "minilm_sts_dev": minilm_sts_dev(recipe),
                           "minilm_ndcg@10": alone("all-MiniLM-L6-v2", data) if data else None, "results": []}
    for weight, folder in jobs:
        if folder is not None:
            report = json.loads((folder / "distill_report.json").read_text())
            if report["config"]["data"]["max_sentences"] != args.sample or report["config"]["train"]["epochs"] \
                    != args.epochs:
                raise SystemExit(f"{folder} was not trained with {base}")
        else:
            config = load_config(args.config, [*base, f"loss.keep={weight}"] if weight else base)
            folder = args.work / f"keep-{weight:g}"
            report = distill(config, folder).report
        doc["results"].append(row("recipe" if not weight else f"keep {weight:g}", weight, folder, report, data))
        write_results(RESULTS, f"{args.name}", doc, markdown(doc))
        print(json.dumps(doc["results"][-1]), flush=True)


if __name__ == "__main__":
    main()
