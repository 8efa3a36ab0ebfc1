"""A smaller embedding table: vocabulary pruning (tokenizer and matrix remapped together) and a 4-bit table, each
loaded unchanged by sentence-transformers, serve and transformers.js."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from compress.config import ExportConfig, Target
from compress.data import load_sts
from compress.metrics import cosines
from export.artifact import layout
from export.pipeline import export_artifact
from export.vocab import prune_vocabulary, tokenization_changes
from serve import Embedder
from tests.conftest import make_sentences

SAMPLE = ["a man plays the guitar.", "the dog runs in the park", "a woman reads a book, the cat sleeps"]


def test_pruning_keeps_the_sample_s_tokens_specials_and_characters(tiny_student_dir: Path, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    original = SentenceTransformer(str(tiny_student_dir), device="cpu")
    model, report = prune_vocabulary(SentenceTransformer(str(tiny_student_dir), device="cpu"), SAMPLE)
    vocab = model.tokenizer.get_vocab()
    assert report.before == len(original.tokenizer.get_vocab()) and report.after == len(vocab) < report.before
    assert {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", ".", ","} <= set(vocab)  # specials, characters
    assert "horse" not in vocab and "guitar" in vocab
    assert tokenization_changes(original.tokenizer.backend_tokenizer, model.tokenizer.backend_tokenizer, SAMPLE) == 0
    model.save(str(tmp_path / "pruned"))
    reloaded = SentenceTransformer(str(tmp_path / "pruned"), device="cpu")
    assert cosines(reloaded.encode(SAMPLE), original.encode(SAMPLE)).min() > 0.99999
    assert json.loads((tmp_path / "pruned" / "config.json").read_text())["vocab_size"] == report.after


def test_export_with_a_pruned_vocabulary_and_a_4bit_table(tiny_student_dir: Path, sts_file: Path,
                                                          tmp_path: Path) -> None:
    """Both shrinks through the export: the int8 file's table is a GatherBlockQuantized, the report says what
    pruning changed, and sentence-transformers, serve and Node load the result unchanged."""
    from sentence_transformers import SentenceTransformer

    from compress.bench.edge import js
    from compress.bench.edge.measure import python_run
    from compress.bench.harness import ModelSpec

    config = ExportConfig(targets=[Target("avx2")], gate_sentences=32, min_retention=50.0, min_cosine=0.5,
                          prune_vocab=True, embedding_bits=4)
    heldback = make_sentences(60, seed=12)
    art = export_artifact(tiny_student_dir, tmp_path / "art", config, heldback, load_sts(sts_file),
                          make_sentences(400, seed=13)).out_dir
    report = json.loads((art / layout.EXPORT_REPORT).read_text())
    vocab = report["vocabulary"]
    assert vocab["after"] <= vocab["before"] and 0 <= vocab["changed_on_heldback"] <= 1
    assert vocab["heldback_cosine_mean"] > 0.99
    int8 = layout.quantized_file("avx2")
    ops = {n.op_type for n in onnx.load(str(art / int8)).graph.node}
    assert "GatherBlockQuantized" in ops and report["quantized"][int8]["embedding_bits"] == 4
    assert not (art / ".pruned-student").exists()
    sentences = make_sentences(12, seed=23)
    served = Embedder(art, file=int8).encode(sentences)
    loaded = SentenceTransformer(str(art), device="cpu", backend="onnx", model_kwargs={"file_name": int8})
    assert cosines(loaded.encode(sentences, convert_to_numpy=True), served).min() > 0.9999
    folder = tmp_path / "node"
    folder.mkdir()
    reference = python_run(ModelSpec("m", "onnx", str(art), int8), int8, sentences, folder)
    run = js.run_node(js.js_spec(art, int8, sentences, None, None), folder, 600)
    assert all(cosines(v, reference).min() >= 0.9999 for v in run.embeddings.values())


@pytest.mark.parametrize(("key", "value"), [("embedding_bits", 6), ("vocab_sentences", 0)])
def test_shrink_settings_are_checked(key: str, value: int, tmp_path: Path) -> None:
    from compress.config import load_config
    from compress.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text(f"[export]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=f"export.{key}"):
        load_config(path)
