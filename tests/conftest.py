"""Shared fixtures: tiny random-initialized BERT sentence-transformers built in the test session."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from compress.config import StudentConfig, StudentKind

if TYPE_CHECKING:
    from export.pipeline import ExportResult

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

WORDS = [
    "a", "the", "man", "woman", "child", "dog", "cat", "horse", "car", "street", "park", "plays", "runs", "eats",
    "rides", "sits", "sleeps", "walks", "red", "blue", "small", "big", "happy", "sad", "guitar", "ball", "food",
    "water", "house", "tree", "bike", "phone", "book", "reads", "sings", "talks", "two", "three", "on", "in",
    "with", "near", "under", "over", "is", "are", "was", "and", "of", "to",
]


def make_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "." for _ in range(count)]


def build_tiny_model(folder: Path, layers: int = 4, hidden: int = 32, heads: int = 4, seed: int = 0) -> Path:
    """A random-init BERT (tiny vocab) + mean pooling + normalize, saved as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    hf_dir = folder / "hf"
    hf_dir.mkdir(exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", *WORDS]
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(hf_dir / "vocab.txt"), do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 2, max_position_embeddings=64)
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=32)
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), "mean")
    model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    out = folder / "st"
    model.save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("teacher"), layers=4, hidden=32, heads=4, seed=0)


@pytest.fixture(scope="session")
def tiny_other_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller 'pretrained' encoder: 2 layers, 16 wide, 2 heads, same tokenizer."""
    return build_tiny_model(tmp_path_factory.mktemp("other"), layers=2, hidden=16, heads=2, seed=1)


@pytest.fixture()
def tiny_teacher(tiny_teacher_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_teacher_dir), device="cpu")


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "sentences.txt"
    path.write_text("\n".join(make_sentences(240)) + "\n")
    return path


@pytest.fixture(scope="session")
def sts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("sts") / "pairs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        for s1, s2 in zip(make_sentences(40, 1), make_sentences(40, 2), strict=True):
            writer.writerow([s1, s2, round(rng.uniform(0, 5), 2)])
    return path


def tiny_config_text(teacher: Path, corpus: Path, sts: Path, out_dir: Path, cache_dir: Path) -> str:
    """A complete config for a fast distillation run on the tiny models (4 teacher chunks of 50 sentences)."""
    return f"""
[teacher]
model = "{teacher}"
batch_size = 16
chunk_size = 50

[data]
corpus = "{corpus}"
max_sentences = 200
validation_sentences = 20
sts_train = "{sts}"
sts_dev = "{sts}"
sts_test = "{sts}"

[student]
kind = "pruned"
num_layers = 2

[train]
epochs = 1
batch_size = 16
eval_steps = 5
device = "cpu"

[output]
dir = "{out_dir}"
cache_dir = "{cache_dir}"
progress = false
"""


def write_beir(folder: Path, docs: list[dict[str, str]], queries: list[dict[str, str]],
               qrels: list[tuple[str, str, str]], header: str = "query-id\tcorpus-id\tscore") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels.tsv").write_text(header + "\n" + "".join("\t".join(r) + "\n" for r in qrels))
    return folder


def toy_retrieval_set(folder: Path, docs: int = 60, queries: int = 6) -> Path:
    """A BEIR folder of tiny-vocabulary sentences, each query judged against 3 documents (grades 1 or 2)."""
    rng = random.Random(5)
    doc_rows = [{"_id": f"d{i}", "title": "", "text": s} for i, s in enumerate(make_sentences(docs, seed=21))]
    query_rows = [{"_id": f"q{i}", "text": s} for i, s in enumerate(make_sentences(queries, seed=22))]
    qrels = [(q["_id"], f"d{d}", str(rng.choice((1, 2)))) for q in query_rows for d in rng.sample(range(docs), 3)]
    return write_beir(folder, doc_rows, query_rows, qrels)


def flip_byte(path: Path) -> None:
    """Corrupt a file the way a bad disk or transfer would: one bit in the middle."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture()
def tiny_config_toml(tmp_path: Path, tiny_teacher_dir: Path, corpus_file: Path, sts_file: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(tiny_config_text(tiny_teacher_dir, corpus_file, sts_file, tmp_path / "student",
                                     tmp_path / "cache"))
    return path


@pytest.fixture(scope="session")
def tiny_student_dir(tiny_teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentence_transformers import SentenceTransformer

    from compress.distill.students import prune_layers

    out = tmp_path_factory.mktemp("student") / "st"
    prune_layers(SentenceTransformer(str(tiny_teacher_dir), device="cpu"), [0, 3]).save(str(out))
    return out


@pytest.fixture(scope="session")
def exported(tiny_student_dir: Path, sts_file: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    from compress.config import ExportConfig, Target
    from compress.data import load_sts
    from export.pipeline import export_artifact

    config = ExportConfig(targets=[Target("avx512_vnni"), Target("avx2")], static=True, calibration_sentences=32,
                          gate_sentences=64, min_retention=50.0, min_cosine=0.98)
    out = tmp_path_factory.mktemp("artifact") / "art"
    return export_artifact(tiny_student_dir, out, config, make_sentences(80, seed=11), load_sts(sts_file))


KindArtifacts = dict[StudentKind, tuple[Path, Path]]


def build_kind_student(kind: StudentKind, teacher_dir: Path, other_dir: Path, out: Path) -> Path:
    from sentence_transformers import SentenceTransformer

    from compress.distill.students import build_student

    teacher = SentenceTransformer(str(teacher_dir), device="cpu")
    sentences = make_sentences(80, seed=8)
    config = StudentConfig(kind=kind, model=str(other_dir), num_layers=2, static_dims=16)
    built = build_student(config, teacher, sentences, teacher.encode(sentences, convert_to_numpy=True))
    built.model.save(str(out))
    return out


@pytest.fixture(scope="session")
def kind_artifacts(tiny_teacher_dir: Path, tiny_other_dir: Path, sts_file: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> KindArtifacts:
    """(student folder, artifact folder) for each student kind: pruned teacher, pretrained encoder with a
    projection (tiny_other_dir is narrower than the teacher), and static token vectors with a projection."""
    from compress.config import ExportConfig, Target
    from compress.data import load_sts
    from export.pipeline import export_artifact

    config = ExportConfig(targets=[Target("avx2"), Target("arm64")], gate_sentences=32, min_retention=50.0,
                          min_cosine=0.9)
    found = {}
    for kind in StudentKind:
        root = tmp_path_factory.mktemp(f"kind-{kind.value}")
        student = build_kind_student(kind, tiny_teacher_dir, tiny_other_dir, root / "student")
        art = export_artifact(student, root / "art", config, make_sentences(60, seed=10), load_sts(sts_file))
        found[kind] = (student, art.out_dir)
    return found
