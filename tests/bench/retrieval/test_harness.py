"""Retrieval in ``compress bench``: a teacher with prompts and CLS pooling, students of the same and of another
dimension, the embedding cache reused across runs, the gates' exit codes, the tables."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from compress.bench.peers import peer_label
from compress.bench.schema import BENCH_SCHEMA
from compress.cli import app
from tests.conftest import build_tiny_model, make_sentences, toy_retrieval_set

PROMPTS = {"query": "query: ", "document": "passage: "}


def build_prompted_teacher(folder: Path) -> Path:
    """The tiny BERT with CLS pooling and e5-style prompts, as sentence-transformers saves such a model."""
    from sentence_transformers import SentenceTransformer, models

    base = SentenceTransformer(str(build_tiny_model(folder / "base", seed=7)), device="cpu")
    pooling = models.Pooling(base.get_sentence_embedding_dimension(), "cls")
    model = SentenceTransformer(modules=[base[0], pooling, models.Normalize()], device="cpu", prompts=PROMPTS)
    model.save(str(folder / "st"))
    return folder / "st"


@pytest.fixture(scope="module")
def prompted_teacher_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_prompted_teacher(tmp_path_factory.mktemp("prompted"))


@pytest.fixture(scope="module")
def toy_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_retrieval_set(tmp_path_factory.mktemp("beir") / "toy")


def _config(tmp: Path, teacher: Path, corpus: Path, sts: Path, toy: Path, cache: Path, gates: str = "") -> Path:
    path = tmp / "bench.toml"
    path.write_text(f"""
[teacher]
model = "{teacher}"
[data]
corpus = "{corpus}"
max_sentences = 200
validation_sentences = 40
sts_test = "{sts}"
[bench]
profiles = ["edge-1core"]
latency_calls = 5
warmup = 1
throughput_batches = 1
throughput_seconds = 0.0
heldback_sentences = 20
pareto_accuracy = "ndcg@10:toy"
{gates}
[bench.retrieval_sets]
toy = "{toy}"
[bench.sts_sets]
again = "{sts}"
[output]
cache_dir = "{cache}"
progress = false
""")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, prompted_teacher_dir: Path, tiny_student_dir: Path,
         tiny_other_dir: Path, corpus_file: Path, sts_file: Path, toy_set: Path):
    tmp = tmp_path_factory.mktemp("runs")
    config = _config(tmp, prompted_teacher_dir, corpus_file, sts_file, toy_set, tmp / "cache",
                     "min_retrieval_retention = { \"*\" = 1.0 }\nmin_index_retention = { toy = 1.0 }")
    results = []
    for run in ("first", "second"):
        result = CliRunner().invoke(app, ["bench", f"same={tiny_student_dir}", f"narrow={tiny_other_dir}",
                                          "--config", str(config), "--out", str(tmp / run),
                                          "--set", f"bench.peers={json.dumps([str(tiny_student_dir)])}"])
        stamps = {p.name: p.stat().st_mtime_ns for p in (tmp / "cache" / "embeddings").glob("*.npy")}
        results.append((result, tmp / run, stamps))
    return results, tmp / "cache" / "embeddings"


def test_scores_tables_and_schema(runs, tiny_student_dir: Path) -> None:
    (result, out, _), _ = runs[0][0], runs[1]
    assert result.exit_code == 1, result.output  # the 16-dim student cannot query the 32-dim index
    doc = json.loads((out / "bench.json").read_text())
    jsonschema.validate(doc, BENCH_SCHEMA)
    assert doc["schema"] == "st-compress/bench/2"
    by = {e["model"]: e for e in doc["results"]}
    teacher, same, narrow = by["teacher"], by["same"], by["narrow"]
    assert set(teacher["retrieval"]["toy"]) >= {"ndcg@10", "recall@100", "mrr@10", "search"}
    assert "index" not in teacher and "retention_percent" not in teacher["retrieval"]["toy"]
    expected = 100 * same["retrieval"]["toy"]["ndcg@10"] / teacher["retrieval"]["toy"]["ndcg@10"]
    assert same["retrieval"]["toy"]["retention_percent"] == pytest.approx(expected)
    index = same["index"]["toy"]
    assert index["retention_percent"] == pytest.approx(100 * index["ndcg@10"] / teacher["retrieval"]["toy"]["ndcg@10"])
    assert -1 <= index["doc_cosine"] <= 1 and -1 <= index["query_cosine"] <= 1
    assert narrow["index"]["toy"] == {"error": "dims differ: the student's 16 vs the teacher's 32"}
    # the peer: sentence-transformers' own int8 export of the folder, run by its ONNX backend, measured beside
    # the others (index included) and never gated
    peer = by[peer_label(str(tiny_student_dir))]
    assert peer["peer"] is True and peer["kind"] == "st-onnx" and "int8" in peer["file"]
    assert peer["retrieval"]["toy"]["ndcg@10"] >= 0 and "ndcg@10" in peer["index"]["toy"]
    assert peer["sts_spearman"] == pytest.approx(same["sts_spearman"], abs=5.0)  # int8 of the same model
    assert same["sts_sets"]["again"]["spearman"] == pytest.approx(same["sts_spearman"])
    failed = doc["gates"]["failed"]
    assert failed == ["narrow on edge-1core: index compatibility nDCG@10 on toy: cannot be judged (dims differ: "
                      "the student's 16 vs the teacher's 32)"]
    md = (out / "bench.md").read_text()
    assert "## Retrieval" in md and "## Index compatibility" in md and "## More STS sets" in md
    assert "| same | torch | toy |" in md and "dims differ" in md
    assert doc["settings"]["eval_sets"]["retrieval"]["toy"]["queries"] == 6


def test_the_teachers_prompts_are_applied(runs, prompted_teacher_dir: Path, toy_set: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from compress.data.beir import load_beir

    model = SentenceTransformer(str(prompted_teacher_dir), device="cpu")
    rset = load_beir(toy_set)
    cache = runs[1]
    stored = {p.name: np.load(p) for p in cache.glob("toy-*.npy")}
    queries, docs = model.encode_query(rset.queries), model.encode_document(rset.docs)
    # atol 1e-4: the harness batches texts differently (padding moves the last float digits); a missing prompt
    # moves them by ~0.5
    assert any(a.shape == queries.shape and np.allclose(a, queries, atol=1e-4) for a in stored.values())
    assert any(a.shape == docs.shape and np.allclose(a, docs, atol=1e-4) for a in stored.values())
    plain = model.encode(rset.queries)  # without the prompt: another embedding, which no cache file holds
    assert not any(a.shape == plain.shape and np.allclose(a, plain, atol=1e-4) for a in stored.values())


def test_embeddings_are_reused_on_the_second_run(runs) -> None:
    (_, out1, stamps1), (_, out2, stamps2) = runs[0]
    assert len(stamps1) == 8  # 4 models (the peer too) x (queries, documents)
    assert stamps2 == stamps1  # nothing embedded again, nothing rewritten
    assert len(list((out1.parent / "cache" / "peers").iterdir())) == 1  # the peer was exported once, then reused
    r1, r2 = (json.loads((o / "bench.json").read_text())["results"] for o in (out1, out2))
    assert [e.get("retrieval") for e in r1] == [e.get("retrieval") for e in r2]


def test_retrieval_gates_without_a_teacher_exit_2(tmp_path: Path, tiny_student_dir: Path, corpus_file: Path,
                                                   sts_file: Path, toy_set: Path) -> None:
    config = _config(tmp_path, tiny_student_dir, corpus_file, sts_file, toy_set, tmp_path / "cache",
                     "teacher = \"none\"\nmin_index_retention = { \"*\" = 90.0 }")
    result = CliRunner().invoke(app, ["bench", str(tiny_student_dir), "--config", str(config), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2 and "bench.min_index_retention" in result.output and "teacher" in result.output
    assert not (tmp_path / "out").exists()
    config = _config(tmp_path, tiny_student_dir, corpus_file, sts_file, toy_set, tmp_path / "cache",
                     "min_retrieval_retention = { other = 90.0 }")
    result = CliRunner().invoke(app, ["bench", str(tiny_student_dir), "--config", str(config)])
    assert result.exit_code == 2 and "'bench.min_retrieval_retention.other' names no retrieval set" in result.output


def test_a_failing_retrieval_gate_exits_1(tmp_path: Path, tiny_student_dir: Path, tiny_teacher_dir: Path,
                                          corpus_file: Path, sts_file: Path, toy_set: Path) -> None:
    config = _config(tmp_path, tiny_teacher_dir, corpus_file, sts_file, toy_set, tmp_path / "cache",
                     "min_retrieval_retention = { toy = 1000.0 }")
    result = CliRunner().invoke(app, ["bench", f"s={tiny_student_dir}", "--config", str(config), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "gate failed: s on edge-1core: retrieval nDCG@10 on toy: retention" in result.stderr


def test_torch_models_embed_the_sets_in_the_teachers_precision(tmp_path: Path, tiny_teacher_dir: Path,
                                                               toy_set: Path) -> None:
    """bf16 autocast (where native, or asked for) is cached apart from fp32, close to it, and not used for ONNX."""
    from compress.bench.harness import BenchData, ModelSpec, measure_native
    from compress.bench.retrieval.evaluate import RetrievalData
    from compress.config import BenchConfig, Precision
    from compress.data.beir import load_beir
    from compress.profiles import get_profile

    sentences = make_sentences(40, seed=3)
    settings = BenchConfig(latency_calls=2, warmup=0, throughput_batches=1, throughput_seconds=0.0)
    stored = {}
    for precision in (Precision.FP32, Precision.BF16):
        data = BenchData(sentences, sentences[:8], retrieval=RetrievalData([load_beir(toy_set)], tmp_path,
                                                                           precision=precision))
        entries, _ = measure_native([ModelSpec("t", "torch", str(tiny_teacher_dir), teacher=True)],
                                    [get_profile("edge-1core")], data, settings, show_progress=False)
        assert entries[0]["status"] == "ok" and entries[0]["retrieval"]["toy"]["ndcg@10"] >= 0
        stored[precision] = {p.name for p in (tmp_path / "embeddings").glob("toy-docs-*.npy")}
    bf16_file = (stored[Precision.BF16] - stored[Precision.FP32]).pop()
    fp32_file = stored[Precision.FP32].pop()
    bf16, fp32 = (np.load(tmp_path / "embeddings" / f) for f in (bf16_file, fp32_file))
    cos = (bf16 * fp32).sum(1) / np.linalg.norm(bf16, axis=1) / np.linalg.norm(fp32, axis=1)
    assert cos.min() > 0.99 and not np.array_equal(bf16, fp32)
