"""Documents and longer inputs: distillation recipes compared on what users embed beyond sentences.

Each variant runs the package's own distill stage (`compress.distill.stage.distill`) on the default recipe with a few
config overrides, then measures the PyTorch student (fp32) on: STS-B dev, held-back corpus sentences and held-back
passages (cosine to the teacher), and the shared retrieval sets (nDCG@10 of the student alone, and of its queries
against the teacher's document index, with the cosine to the teacher on documents and queries). STS-B test is not
measured here (it is reported once, for the final recipe, by `compress run`). The teacher's retrieval embeddings
come from the benchmark cache (`<cache>/embeddings`, computed once).

Reproduce (repo root, after scripts/setup.sh; the sentence cache of the default recipe is reused, passages are
embedded once):
    .venv/bin/python benchmarks/documents.py --data ../shared/data --variants sentences passages --epochs 0.5
    .venv/bin/python benchmarks/documents.py --reference runs/default-student   # a trained student folder
    .venv/bin/python benchmarks/documents.py --variants '10k: tokens' '10k: sentences'   # token-level targets
    .venv/bin/python benchmarks/documents.py --variants '10k: sentences' '10k: keep 0.02' '10k: keep 0.1'
    .venv/bin/python benchmarks/documents.py --variants '10k: block 8 tokens' '10k: passages + keep 0.1'
    .venv/bin/python benchmarks/documents.py --variants '30k: sentences' '30k: keep 0.1'
    .venv/bin/python benchmarks/documents.py --artifact runs/release   # its int8 files on sentences and passages

Rows of earlier invocations are kept (by name and epochs) and rewritten beside the new ones in
benchmarks/results/documents.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.bench.retrieval.cache import encoded_paths, model_fingerprint
from compress.bench.retrieval.evaluate import NDCG, load, mean_cosine, score
from compress.bench.retrieval.search import normalized
from compress.config import Config, SearchKind, build_config, load_config
from compress.data import corpus_of
from compress.data.beir import RetrievalSet, load_beir
from compress.distill.stage import distill
from compress.distill.targets import frozen_embeddings
from compress.distill.teacher_cache import teacher_embeddings, teacher_encoder, weights_fingerprint
from compress.distill.teacher_runtime import PARITY_TEXTS, config_runtime
from compress.io import write_npy_atomic, write_text_atomic
from compress.machine import machine_info, machine_line
from compress.metrics import cosine_summary, fidelity
from compress.models import load_sentence_transformer, resolve_model
from compress.precision import resolve
from export.artifact.prompts import Prompts

RESULTS = results_dir(__file__)
SETS = ("cacm", "npl")
PASSAGES = ["data.passages=2000", "data.validation_passages=200"]
# Every variant is a change to the recipe these rows began from (60,000 sentences, no keep, sentences only), pinned
# here so that they stay reproducible now that the default recipe holds keep 0.1 and query-shaped texts.
BEFORE = ["data.max_sentences=60000", "loss.keep=0", "data.queries=0", "data.validation_queries=0"]
VARIANTS: dict[str, list[str]] = {
    "sentences": [],
    "passages": PASSAGES,
    "passages+similarity": [*PASSAGES, "loss.similarity=1.0"],
    # token-level targets cost a teacher pass of their own: measured on a 10k-sentence sample, 2 epochs
    "10k: tokens": ["data.max_sentences=10000", "train.epochs=2", "loss.tokens=1.0"],
    "10k: sentences": ["data.max_sentences=10000", "train.epochs=2"],
    "10k: tokens 0.1": ["data.max_sentences=10000", "train.epochs=2", "loss.tokens=0.1"],
    "10k: similarity": ["data.max_sentences=10000", "train.epochs=2", "loss.similarity=1.0"],
    # loss.keep (the pretrained student's own similarities): what it does to the teacher's index
    "10k: keep 0.02": ["data.max_sentences=10000", "train.epochs=2", "loss.keep=0.02"],
    "10k: keep 0.1": ["data.max_sentences=10000", "train.epochs=2", "loss.keep=0.1"],
    # an intermediate teacher block (8 of 0..11) to the student block as deep (2 of 0..3), from the token cache
    "10k: block 8 tokens": ["data.max_sentences=10000", "train.epochs=2", "loss.tokens=1.0", "loss.token_layer=8"],
    "10k: passages + keep 0.1": ["data.max_sentences=10000", "train.epochs=2", "loss.keep=0.1", *PASSAGES],
    # does keep's gain hold at 3x the sentences (another held-back slice: compare the 30k rows with each other)
    "30k: sentences": ["data.max_sentences=30000", "train.epochs=2"],
    "30k: keep 0.1": ["data.max_sentences=30000", "train.epochs=2", "loss.keep=0.1"],
}
# The index-compatible student's tries (``--name student_tries``): 10k sentences x 2 epochs, one change at a time
TEN_K = ["data.max_sentences=10000", "train.epochs=2"]
QUERIES = ["data.queries=10000", "data.validation_queries=500"]
PRUNED_2 = ["student.kind='pruned'", "student.num_layers=2", "student.keep_layers=none", "student.ffn_size=768"]
VARIANTS |= {
    "10k: cosine": [*TEN_K, "loss.mse=0", "loss.cosine=1.0"],
    "10k: cross": [*TEN_K, "loss.cross=1.0"],
    "10k: queries": [*TEN_K, *QUERIES],
    "10k: queries + cross": [*TEN_K, *QUERIES, "loss.cross=1.0"],
    "10k: queries + keep 0.1": [*TEN_K, *QUERIES, "loss.keep=0.1"],
    "10k: queries + refit": [*TEN_K, *QUERIES, "student.refit=true"],
    "10k: queries + keep 0.1 + refit": [*TEN_K, *QUERIES, "loss.keep=0.1", "student.refit=true"],
    # the index-directed settings on the design the default took (queries + keep 0.1): more of the pretrained
    # model's own ranking kept; the error counted where the teacher's vectors rank documents (loss.scores)
    "10k: queries + keep 0.3": [*TEN_K, *QUERIES, "loss.keep=0.3"],
    "10k: queries + keep 0.1 + scores 10": [*TEN_K, *QUERIES, "loss.keep=0.1", "loss.scores=10.0"],
    "10k: queries + keep 1.0": [*TEN_K, *QUERIES, "loss.keep=1.0"],
    # the sentences drawn for the words they add (data.sampling = "coverage") instead of at random
    "10k: queries + keep 0.3 + coverage": [*TEN_K, *QUERIES, "loss.keep=0.3", "data.sampling='coverage'"],
    # do the query-shaped texts still earn their teacher and training minutes beside a coverage sample
    "10k: keep 0.3 + coverage": [*TEN_K, "loss.keep=0.3", "data.sampling='coverage'"],
    # the same overrides as "queries + keep 0.3 + coverage", measured after a coverage sample's query-shaped texts
    # came from the sentences its greedy pass picks next (that row's: from sentences outside it, at random)
    "10k: queries + keep 0.3 + coverage, queries drawn for coverage": [*TEN_K, *QUERIES, "loss.keep=0.3",
                                                                       "data.sampling='coverage'"],
    # on the coverage recipe: a faster learning rate (5e-5 lost 2.7 points of index to 1e-4 with keep 0.1); CoSENT
    # on the STS-B training pairs beside distillation (weighted near the distillation loss's size)
    "10k: coverage recipe, lr 2e-4": [*TEN_K, *QUERIES, "loss.keep=0.3", "data.sampling='coverage'",
                                      "train.learning_rate=2e-4"],
    "10k: coverage recipe + task 0.01": [*TEN_K, *QUERIES, "loss.keep=0.3", "data.sampling='coverage'",
                                         "loss.task=0.01"],
    # CoSENT's loss ran over 1,000x the distillation loss at 0.01: a weight that balances the two
    "10k: coverage recipe + task 0.0005": [*TEN_K, *QUERIES, "loss.keep=0.3", "data.sampling='coverage'",
                                           "loss.task=0.0005"],
    # the texts the index measures, scaled: three times the query-shaped texts (short, so a third of a sentence's
    # teacher cost each)
    "10k: coverage recipe, 30k queries": [*TEN_K, "data.queries=30000", "data.validation_queries=500", "loss.keep=0.3",
                                          "data.sampling='coverage'"],
    "10k: queries + keep 0.1, lr 5e-5": [*TEN_K, *QUERIES, "loss.keep=0.1", "train.learning_rate=5e-5"],
    # the teacher's targets from its int8 graph (onnxruntime, row-wise int8 for this CPU) instead of bf16 PyTorch
    "10k: int8 teacher targets": [*TEN_K, "teacher.runtime='onnxruntime-int8'", "teacher.precision='fp32'"],
    # the teacher cut to 2 of its 12 blocks (0 and 11) with 768 of 3,072 feed-forward neurons each: about the
    # default student's multiply-adds per token, and a residual stream that is the teacher's own
    "10k: pruned 2, ffn 768": [*TEN_K, *PRUNED_2],
    "10k: pruned 2, ffn 768 + queries": [*TEN_K, *PRUNED_2, *QUERIES],
    "10k: pruned 2, ffn 768 + queries, 4 epochs": [*TEN_K, *PRUNED_2, *QUERIES, "train.epochs=4"],
    "10k: pruned 2, ffn 768 + queries, lr 3e-4": [*TEN_K, *PRUNED_2, *QUERIES, "train.learning_rate=3e-4"],
    "10k: pruned 4 of 12": [*TEN_K, "student.kind='pruned'", "student.num_layers=4", "student.keep_layers=none"],
}
EVAL_QUERIES = 500  # query-shaped texts made from each variant's held-back sentences (never trained on)


def _embed(model: Any, texts: list[str]) -> np.ndarray:
    return np.asarray(model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False))


def _teacher_encode(model: Any, config: Config, probe: list[str]) -> Any:
    """The teacher's encode function as the distill stage's cache runs it (onnxruntime where it would run fp32 on
    this CPU and matches PyTorch, PyTorch otherwise)."""
    t = config.teacher
    return teacher_encoder(model, weights_fingerprint(model), t.precision, t.batch_size, config_runtime(config).exact,
                           Path(config.output.cache_dir), probe)[0]


def _teacher_index(config: Config, rset: RetrievalSet, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's query and document embeddings of ``rset`` from the benchmark cache (computed when missing)."""
    teacher = config.teacher.model
    encoded = encoded_paths(model_fingerprint(resolve_model(teacher), None), rset, Prompts(), cache / "embeddings")
    if encoded.missing():
        model = load_sentence_transformer(teacher)
        encode = _teacher_encode(model, config, rset.docs[:PARITY_TEXTS])
        encoded.queries.parent.mkdir(parents=True, exist_ok=True)
        for path, texts in ((encoded.queries, rset.queries), (encoded.docs, rset.docs)):
            if not path.exists():
                logging.info("teacher: embedding %d texts of %s", len(texts), rset.name)
                write_npy_atomic(path, normalized(encode(texts)))
    return load(encoded)


def retrieval(student_dir: Path, config: Config, data: Path, cache: Path) -> dict[str, Any]:
    """Per set: the student's nDCG@10 and retention, its queries on the teacher's index, cosines to the teacher."""
    student = load_sentence_transformer(str(student_dir))
    out: dict[str, Any] = {}
    for name in SETS:
        rset = load_beir(data / "retrieval" / name, name)
        t_queries, t_docs = _teacher_index(config, rset, cache)
        start = time.perf_counter()
        s_queries, s_docs = _embed(student, rset.queries), _embed(student, rset.docs)
        seconds = time.perf_counter() - start
        reference = score(t_queries, t_docs, rset, SearchKind.EXACT)[NDCG]
        alone = score(s_queries, s_docs, rset, SearchKind.EXACT)[NDCG]
        index = score(s_queries, t_docs, rset, SearchKind.EXACT)[NDCG]
        out[name] = {"teacher_ndcg@10": reference, "ndcg@10": alone, "retention": 100 * alone / reference,
                     "index_ndcg@10": index, "index_retention": 100 * index / reference,
                     "doc_cosine": mean_cosine(s_docs, t_docs), "query_cosine": mean_cosine(s_queries, t_queries),
                     "embed_seconds": seconds}
    return out


@dataclass(frozen=True)
class Evaluation:
    data: Path
    cache: Path
    config: Config  # the default recipe's (its teacher)
    passages: tuple[list[str], np.ndarray]  # held-back passages and the teacher's embeddings of them


def held_back_passages(config: Config) -> tuple[list[str], np.ndarray]:
    """The held-back passages of the passage recipe and the teacher's embeddings of them (through the distill
    stage's cache, on their own), so that every variant, with passages or without, is measured on the same ones."""
    texts = corpus_of(config.data).validation_passages
    teacher = load_sentence_transformer(config.teacher.model)
    teacher.max_seq_length = config.data.passage_max_tokens
    t, fingerprint = config.teacher, hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return texts, np.asarray(teacher_embeddings(
        teacher, texts, fingerprint, Path(config.output.cache_dir), t.batch_size, t.chunk_size, False,
        resolve(t.precision, teacher.device.type), t.cache_dtype, config_runtime(config).exact), dtype=np.float32)


def exact_teacher(config: Config) -> Config:
    """The config with the teacher's exact runtime: every variant is judged against the same teacher vectors,
    also one trained on the teacher's int8 targets (``teacher.runtime = "onnxruntime-int8"``)."""
    return replace(config, teacher=replace(config.teacher, runtime=config.teacher.runtime.exact))


def held_back_sentences(config: Config) -> tuple[list[str], np.ndarray]:
    """The sample's held-back sentences and the exact teacher's embeddings of them (for a variant whose own
    validation targets are approximate)."""
    texts = corpus_of(config.data).validation
    fingerprint = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return texts, frozen_embeddings(load_sentence_transformer(config.teacher.model), texts, fingerprint,
                                    exact_teacher(config), config.teacher.cache_dtype,
                                    "teacher embeddings of held-back sentences")


def held_back_queries(config: Config) -> tuple[list[str], np.ndarray]:
    """Query-shaped texts (``compress.data.queries``) made from the recipe's held-back sentences, which no variant
    of the same sample trains on, and the teacher's embeddings of them (through the distill stage's cache)."""
    import random

    from compress.data.queries import build_queries

    texts = build_queries(corpus_of(config.data).validation, EVAL_QUERIES, random.Random("held-back queries"))
    fingerprint = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return texts, frozen_embeddings(load_sentence_transformer(config.teacher.model), texts, fingerprint,
                                    exact_teacher(config), config.teacher.cache_dtype,
                                    "teacher embeddings of held-back queries")


def row(name: str, overrides: list[str], student_dir: Path, report: dict[str, Any],
        evaluation: Evaluation) -> dict[str, Any]:
    validation, training = report["validation"], report["training"]
    sets = retrieval(student_dir, evaluation.config, evaluation.data, evaluation.cache)
    texts, targets = evaluation.passages
    student = load_sentence_transformer(str(student_dir))
    passage = fidelity(_embed(student, texts), targets)
    config = build_config(report["config"])
    queries, query_targets = held_back_queries(config)
    query = fidelity(_embed(student, queries), query_targets)
    sentence_cosine = validation.get("cosine")
    if config.teacher.runtime is not config.teacher.runtime.exact:  # trained on approximate targets: the exact ones
        sentences, sentence_targets = held_back_sentences(config)
        sentence_cosine = fidelity(_embed(student, sentences), sentence_targets)["cosine"]
    return {"variant": name, "overrides": overrides, "student": str(student_dir),
            "sts_dev": report["sts_spearman"]["student"].get("sts_dev"),
            "teacher_sts_dev": report["sts_spearman"]["teacher"].get("sts_dev"),
            "heldback_cosine": sentence_cosine,
            "passage_cosine": passage["cosine"], "passage_cosine_p5": passage["cosine_p5"],
            "query_cosine": query["cosine"], "query_cosine_p5": query["cosine_p5"],
            "train_queries": (report["config"]["data"].get("queries") or 0),
            "train_items": training["sentences"], "passages": training.get("passages", 0),
            "epochs": training["epochs"], "train_seconds": training["seconds"],
            "teacher_seconds": (report.get("timing") or {}).get("teacher_embedding_seconds"),
            "retrieval": sets,
            "mean_retention": float(np.mean([s["retention"] for s in sets.values()])),
            "mean_index_retention": float(np.mean([s["index_retention"] for s in sets.values()]))}


def int8_fidelity(folder: Path, sentences: list[str], passages: list[str]) -> dict[str, Any]:
    """Mean / 5th-percentile cosine of each x86 int8 file of an artifact to its fp32 ONNX file, on held-back
    sentences and passages: does calibration on sentences hold on longer inputs?"""
    from export.artifact.load import load_artifact

    reference = load_artifact(folder, file="onnx/model.onnx").encoder
    out: dict[str, Any] = {}
    for file in ("onnx/model_qdq_avx2.onnx", "onnx/model_qint8_avx2.onnx"):
        if (folder / file).exists():
            encoder = load_artifact(folder, file=file).encoder
            out[file] = {name: dict(zip(("cosine", "cosine_p5"), cosine_summary(
                np.asarray(reference.encode(texts)), np.asarray(encoder.encode(texts))), strict=True))
                for name, texts in (("sentences", sentences), ("passages", passages))}
    return out


def _num(value: Any, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _preamble(title: str, doc: dict[str, Any]) -> list[str]:
    return [f"# {title}", "", "Commands (each adds or replaces its rows):", "",
            *[f"    {c}" for c in doc["commands"]], "", machine_line(doc["machine"]), ""]


def _closing(doc: dict[str, Any], rows: str) -> list[str]:
    """The teacher's nDCG@10 and each row's overrides."""
    first = doc["results"][0]["retrieval"] if doc["results"] else {}
    lines = ["", "Teacher nDCG@10: " + ", ".join(f"{s} {first[s]['teacher_ndcg@10']:.2f}" for s in SETS) + "."] \
        if first else []
    return [*lines, "", f"Overrides per {rows}: " + "; ".join(
        f"{r['variant']}: {' '.join(r['overrides']) or '(the default recipe)'}" for r in doc["results"]) + "."]


def markdown(doc: dict[str, Any]) -> str:
    lines = [*_preamble("Documents: distillation recipes on longer inputs and retrieval", doc),
             "PyTorch students (fp32). STS-B dev x100; cosines to the teacher on 1,000 held-back corpus sentences and "
             "on held-back passages (corpus sentences joined, 40-180 words); nDCG@10 x100 on the shared retrieval "
             "sets as % of the teacher's (alone: the student's queries and documents; index: its queries against the "
             "teacher's documents). Minutes: the teacher's embedding pass (0 when cached) and training, here. Rows "
             "named `10k: ...` sample 10,000 corpus sentences (another held-back slice: compare them with each "
             "other). CACM has 52 queries and NPL 93: a difference of a few points of nDCG@10 on one set is "
             "within the noise of which queries happen to move.", "",
             "| variant | epochs | passages | STS-B dev | sent cos | passage cos | "
             + " | ".join(f"{s} alone % | {s} index % | {s} doc cos" for s in SETS)
             + " | mean alone % | mean index % | teacher min | train min |",
             "|---|---:|---:|---:|---:|---:|" + "---:|" * (3 * len(SETS) + 4)]
    for r in doc["results"]:
        sets = " | ".join(f"{_num(r['retrieval'][s]['retention'], 1)} | {_num(r['retrieval'][s]['index_retention'], 1)}"
                          f" | {_num(r['retrieval'][s]['doc_cosine'], 3)}" for s in SETS)
        lines.append(f"| {r['variant']} | {_num(r['epochs'], 1)} | {r['passages']} | {_num(r['sts_dev'])} | "
                     f"{_num(r['heldback_cosine'], 4)} | {_num(r['passage_cosine'], 4)} | {sets} | "
                     f"{_num(r['mean_retention'], 1)} | {_num(r['mean_index_retention'], 1)} | "
                     f"{_num((r['teacher_seconds'] or 0) / 60, 1)} | {_num(r['train_seconds'] / 60, 1)} |")
    for artifact, files in doc.get("int8", {}).items():
        lines += ["", f"int8 files of `{artifact}`, mean cosine to its fp32 ONNX file (held-back sentences / "
                      "passages): " + "; ".join(f"`{f}` {v['sentences']['cosine']:.4f} / {v['passages']['cosine']:.4f}"
                                                for f, v in files.items()) + "."]
    return "\n".join([*lines, *_closing(doc, "variant")]) + "\n"


def tries_markdown(doc: dict[str, Any]) -> str:
    """The tries table of the index-compatible student: one row per try, the index metric first."""
    lines = [*_preamble("Tries: a student whose queries search the teacher's index", doc),
             "Each try is the package's distill stage (`compress.distill.stage.distill`) on the default recipe with "
             "the overrides listed, on 10,000 sampled corpus sentences x 2 epochs unless it says otherwise; the "
             "same 1,000 held-back sentences for every 10k row of a random sample (a coverage sample, "
             "`data.sampling = 'coverage'`, holds back its own longer sentences and makes its held-back queries "
             "from sentences it left, at random until the row 'queries drawn for coverage', then from those its "
             "pass would take next: its cosines are not comparable with the others'). PyTorch students "
             "(fp32). nDCG@10 as % of the teacher's: index = the student's queries against the teacher's document "
             "index, alone = its own queries and documents. Cosines to the teacher: held-back sentences, 500 "
             "query-shaped texts made from "
             "them (`compress.data.queries`: crops, keywords, questions; never trained on), and held-back passages "
             "(40-180 words). STS-B dev x100 (STS-B test is not read). Minutes on the machine above: the teacher's "
             "pass (0 when cached) and training. CACM has 52 queries and NPL 93: a few points on one set are noise.",
             "", "| try | index CACM % | index NPL % | mean index % | alone CACM % | alone NPL % | query cos | "
             "sent cos | passage cos | STS-B dev | teacher min | train min |",
             "|---|" + "---:|" * 11]
    for r in doc["results"]:
        sets = r["retrieval"]
        lines.append(f"| {r['variant']} | {_num(sets['cacm']['index_retention'], 1)} | "
                     f"{_num(sets['npl']['index_retention'], 1)} | {_num(r['mean_index_retention'], 1)} | "
                     f"{_num(sets['cacm']['retention'], 1)} | {_num(sets['npl']['retention'], 1)} | "
                     f"{_num(r.get('query_cosine'), 4)} | {_num(r['heldback_cosine'], 4)} | "
                     f"{_num(r['passage_cosine'], 4)} | {_num(r['sts_dev'])} | "
                     f"{_num((r['teacher_seconds'] or 0) / 60, 1)} | {_num(r['train_seconds'] / 60, 1)} |")
    if doc.get("running"):
        lines += ["", f"Still running: {doc['running']}."]
    return "\n".join([*lines, *_closing(doc, "try")]) + "\n"


MARKDOWN = {"documents": markdown, "student_tries": tries_markdown}


def _distilled(config: Config, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The variant's student: the one already in ``folder`` when it was trained with this very config (a rerun
    after an interrupted evaluation), else a new one from the package's distill stage."""
    done = folder / "distill_report.json"
    # the recorded config read back as a Config, so that keys added since (at their defaults) compare equal
    if done.is_file() and build_config((report := json.loads(done.read_text()))["config"]) == config:
        logging.info("%s: reusing the student trained with this config", folder)
        return folder, report
    result = distill(config, folder)
    return result.student_dir, result.report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--variants", nargs="*", default=[], choices=list(VARIANTS))
    parser.add_argument("--epochs", type=float, default=0.5, help="train.epochs of every variant")
    parser.add_argument("--reference", nargs="*", default=[], help="trained student folders to measure as they are")
    parser.add_argument("--work", default="runs/documents")
    parser.add_argument("--cache", default=".cache/st-compress")
    parser.add_argument("--artifact", nargs="*", default=[],
                        help="artifact folders: their int8 files against fp32 on held-back sentences and passages")
    parser.add_argument("--render", action="store_true", help="only rewrite the Markdown from the saved JSON")
    parser.add_argument("--name", default="documents", choices=list(MARKDOWN),
                        help="the results file: documents, or student_tries (the index-compatible student's tries)")
    args = parser.parse_args()
    render = MARKDOWN[args.name]
    if args.render:
        write_text_atomic(RESULTS / f"{args.name}.md", render(json.loads((RESULTS / f"{args.name}.json").read_text())))
        return
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    data, cache = Path(args.data), Path(args.cache)
    base = [*BEFORE, f"data.corpus='{data}/corpus/sentences.txt.gz'", f"data.sts_dev='{data}/stsb/dev.csv'",
            f"data.sts_test='{data}/stsb/test.csv'", f"output.cache_dir='{cache}'", f"train.epochs={args.epochs}"]
    path = RESULTS / f"{args.name}.json"
    before = json.loads(path.read_text()) if path.exists() else {}
    earlier = before.get("results", [])
    command = command_line(__file__)
    done: list[dict[str, Any]] = []
    recipe = load_config(None, base)
    passages = held_back_passages(load_config(None, base + PASSAGES))
    int8 = dict(before.get("int8", {}))
    if args.artifact:
        sentences = corpus_of(recipe.data).validation[:len(passages[0])]
        int8.update({folder: int8_fidelity(Path(folder), sentences, passages[0]) for folder in args.artifact})
    jobs: list[tuple[str, list[str], Path | None]] = [(name, VARIANTS[name], None) for name in args.variants]
    jobs += [(f"reference: {Path(folder).name}", [], Path(folder)) for folder in args.reference]

    def save(running: str | None = None) -> None:  # after each row: a long run keeps what it finished
        names = {(r["variant"], r["epochs"]) for r in done}  # a row is replaced by the same variant and epochs
        commands = [c for c in before.get("commands", []) if c != command] + [command]
        doc = {"commands": commands, "machine": machine_info(), "int8": int8, "running": running,
               "results": [r for r in earlier if (r["variant"], r["epochs"]) not in names] + done}
        write_results(RESULTS, args.name, doc, render(doc))

    if args.artifact:
        save()
    for name, overrides, folder in jobs:
        save(running=name)
        if folder is None:
            folder, report = _distilled(load_config(None, base + overrides), Path(args.work) / name)
        else:
            report = json.loads((folder / "distill_report.json").read_text())
        done.append(row(name, overrides, folder, report, Evaluation(data, cache, recipe, passages)))
        print(json.dumps(done[-1]), flush=True)
        save()

if __name__ == "__main__":
    main()
