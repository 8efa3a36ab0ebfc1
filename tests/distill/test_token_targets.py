from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from compress.config import load_config
from compress.distill.losses.batch import DistillBatch
from compress.distill.losses.tokens import TokenStateLoss
from compress.distill.targets import Targets, checked_tokens, training_labels
from compress.distill.teacher_cache import CacheKey
from compress.distill.token_cache import cached_token_targets
from compress.errors import ConfigError

KEY = CacheKey("w", "c", 128, True, "fp32")


def _fake_encoder(calls: list[int], fail_on: int | None = None) -> Any:
    def encode(batch: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        calls.append(len(batch))
        if fail_on is not None and len(calls) == fail_on:
            raise KeyboardInterrupt("killed")
        tokens = [np.full((len(t), 4), float(len(t)), dtype=np.float32) + np.arange(len(t))[:, None] for t in batch]
        return np.stack([t.mean(axis=0) for t in tokens]), tokens

    return encode


def test_token_states_round_trip_through_chunks_and_resume(tmp_path: Path) -> None:
    texts = ["ab", "abcde", "a", "abc", "abcdefg", "ab", "abcd"]
    calls: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        cached_token_targets(texts, _fake_encoder(calls, fail_on=2), KEY, tmp_path, chunk_size=3)
    assert calls == [3, 3]  # the first chunk is on disk, the second was lost
    calls.clear()
    targets = cached_token_targets(texts, _fake_encoder(calls), KEY, tmp_path, chunk_size=3)
    assert calls == [3, 1]  # resumed at chunk 2
    assert len(targets) == 7 and targets.pooled.shape == (7, 4) and targets.pooled.dtype == np.float32
    for i, text in enumerate(texts):
        states = targets.tokens(i)
        assert states.dtype == np.float16 and states.shape == (len(text), 4)
        np.testing.assert_allclose(states[:, 0], len(text) + np.arange(len(text)))
    calls.clear()
    again = cached_token_targets(texts, _fake_encoder(calls), KEY, tmp_path, chunk_size=3)
    assert calls == [] and np.array_equal(again.tokens(4), targets.tokens(4))
    meta = json.loads(next(tmp_path.glob("teacher-tokens/*/meta.json")).read_text())
    assert meta["dtype"] == "float16" and meta["texts"] == 7 and meta["key"]["max_seq_length"] == 128


def test_the_token_loss_is_zero_on_the_teachers_states_and_ignores_unaligned_positions() -> None:
    teacher = torch.randn(2, 5, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.float32)
    student = teacher.clone() * 3.0  # scale does not matter: the sentence embedding is normalized
    student[1] = -teacher[1]  # a row with no aligned positions does not count
    student[0, 3:] = torch.randn(2, 8)  # nor do padded positions
    batch = DistillBatch(student=torch.zeros(2, 8), teacher=torch.zeros(2, 8), attention_mask=None,
                         student_tokens=student, teacher_tokens=teacher, token_mask=mask)
    assert TokenStateLoss()(batch).item() == pytest.approx(0.0, abs=1e-6)
    batch.student_tokens = -student
    assert TokenStateLoss()(batch).item() == pytest.approx(4.0 / 8, abs=1e-5)  # (2 - 2 cos) / dim at cos -1


def _splitter(split: Any) -> Any:
    return SimpleNamespace(tokenizer=SimpleNamespace(tokenize=split))


def test_tokenizers_that_split_apart_fall_back_to_sentence_targets(caplog: pytest.LogCaptureFixture) -> None:
    tokens = SimpleNamespace()  # stands in for the cache: only its presence matters here
    targets = Targets(np.zeros((3, 2)), np.zeros((1, 2)), np.zeros((0, 2)), np.zeros((0, 2)), tokens)  # type: ignore[arg-type]
    words = _splitter(str.split)
    assert checked_tokens(targets, words, words, ["a b", "c d"]).tokens is tokens  # type: ignore[arg-type]
    chars = _splitter(list)
    kept = checked_tokens(targets, chars, words, ["a b", "c d"])  # type: ignore[arg-type]
    assert kept.tokens is None and kept.train is targets.train
    assert "splits only 0.0%" in caplog.text


def test_labels_carry_the_token_row_and_passages_have_none() -> None:
    targets = Targets(np.ones((3, 2)), np.zeros((1, 2)), np.full((2, 2), 2.0), np.zeros((0, 2)),
                      SimpleNamespace())  # type: ignore[arg-type]
    labels = training_labels(targets)
    assert labels.shape == (5, 3) and labels[:, -1].tolist() == [0, 1, 2, -1, -1]
    assert training_labels(Targets(np.ones((3, 2)), np.zeros((1, 2)), np.zeros((0, 2)), np.zeros((0, 2)))).shape == (
        3, 2)


def test_distill_with_token_targets_trains_the_token_term(tiny_config_toml: Path) -> None:
    from compress.distill.stage import distill

    config = load_config(tiny_config_toml, ["loss.tokens=1.0", "data.passages=8", "data.passage_words=[10, 20]"])
    result = distill(config, Path(config.output.dir))
    report = result.report
    assert report["losses"] == {"mse": 1.0, "tokens": 1.0, "tokens_used": True}
    steps = [e for e in report["curves"]["train"] if "tokens" in e]
    assert steps and all(np.isfinite(e["tokens"]) and e["tokens"] > 0 for e in steps)
    cache = Path(config.output.cache_dir)
    folders = list(cache.glob("teacher-tokens/*/meta.json"))
    assert len(folders) == 1 and json.loads(folders[0].read_text())["texts"] == 200

    def sentence_caches() -> list[Path]:
        return [p for p in cache.glob("teacher/*/meta.json")
                if json.loads(p.read_text())["key"]["max_seq_length"] != config.data.passage_max_tokens]

    assert sentence_caches() == []  # one teacher pass gave both targets
    plain = load_config(tiny_config_toml, ["data.passages=8", "data.passage_words=[10, 20]"])
    again = distill(plain, Path(config.output.dir).with_name("plain"))
    assert sentence_caches() == []  # the sentence targets came from the token cache
    assert again.report["losses"] == {"mse": 1.0}


@pytest.mark.parametrize("override", ["student.kind='static'", "student.match='pca'"])
def test_token_targets_need_a_projected_transformer_student(tiny_config_toml: Path, override: str) -> None:
    with pytest.raises(ConfigError, match=r"loss\.tokens"):
        load_config(tiny_config_toml, ["loss.tokens=1.0", override])


def test_the_teachers_sentence_embedding_is_the_normalized_mean_of_its_cached_states(tiny_teacher_dir: Path,
                                                                                     tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from compress.config import Precision
    from compress.distill.teacher_cache import teacher_embeddings
    from compress.distill.token_cache import teacher_token_targets
    from tests.conftest import make_sentences

    teacher = SentenceTransformer(str(tiny_teacher_dir), device="cpu")
    texts = make_sentences(40, seed=5)
    targets = teacher_token_targets(teacher, texts, "fp", tmp_path, 8, 16, False, Precision.FP32)
    plain = teacher_embeddings(teacher, texts, "fp", tmp_path, 8, 16, False, Precision.FP32)
    np.testing.assert_allclose(targets.pooled, plain, atol=1e-5)  # the same targets as the sentence cache
    for i, text in enumerate(texts):
        states = targets.tokens(i).astype(np.float32)
        assert len(states) == len(teacher.tokenizer(text)["input_ids"])
        mean = states.mean(axis=0)
        np.testing.assert_allclose(mean / np.linalg.norm(mean), targets.pooled[i], atol=2e-3)  # float16 states


def test_an_intermediate_teacher_block_is_cached_apart_with_the_same_sentence_targets(tiny_teacher_dir: Path,
                                                                                      tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from compress.config import Precision
    from compress.distill.token_cache import teacher_token_targets
    from tests.conftest import make_sentences

    teacher = SentenceTransformer(str(tiny_teacher_dir), device="cpu")
    texts = make_sentences(12, seed=2)
    block = teacher_token_targets(teacher, texts, "fp", tmp_path, 8, 16, False, Precision.FP32, layer=1)
    final = teacher_token_targets(teacher, texts, "fp", tmp_path, 8, 16, False, Precision.FP32)
    metas = [json.loads(p.read_text()) for p in tmp_path.glob("teacher-tokens/*/meta.json")]
    assert sorted(str(m["layer"]) for m in metas) == ["1", "None"]  # two caches, never mixed
    np.testing.assert_allclose(block.pooled, final.pooled, atol=1e-6)  # the sentence targets are the same
    encoded = teacher.tokenizer(texts[0], return_tensors="pt")
    with torch.no_grad():
        hidden = teacher[0].auto_model(**encoded, output_hidden_states=True).hidden_states
    # hidden_states[0] is the embeddings' output: block 1's output is hidden_states[2]
    np.testing.assert_allclose(block.tokens(0).astype(np.float32), hidden[2][0].numpy(), rtol=2e-3, atol=2e-3)
    assert not np.allclose(block.tokens(0).astype(np.float32), final.tokens(0).astype(np.float32), atol=1e-2)


def test_an_intermediate_target_is_learned_by_the_student_block_as_deep(tiny_teacher) -> None:
    from compress.config import loss_config
    from compress.distill.losses import build_losses
    from compress.distill.students import prune_layers

    student = prune_layers(tiny_teacher, [0, 3])
    targets: Any = SimpleNamespace()  # the cache itself is not read to build the loss
    for teacher_block, student_block in ((1, 0), (3, 1), (2, 1)):
        distill, _ = build_losses(loss_config(tokens=1, token_layer=teacher_block), student, tiny_teacher,
                                  token_targets=targets)
        assert distill is not None and distill.token_layer == student_block
        projection = distill.components["tokens"].projection
        assert (projection.in_features, projection.out_features) == (32, 32)
        assert distill.student_taps is not None and distill.teacher_taps is None  # no teacher at training time
        distill.student_taps.remove()
    with pytest.raises(ConfigError, match=r"loss\.token_layer.*out of range"):
        build_losses(loss_config(tokens=1, token_layer=4), student, tiny_teacher, token_targets=targets)
    with pytest.raises(ConfigError, match=r"loss\.token_layer"):
        load_config(None, ["loss.token_layer=1"])  # without loss.tokens


def test_distill_with_an_intermediate_teacher_block_trains_the_token_term(tiny_config_toml: Path) -> None:
    from compress.distill.stage import distill

    config = load_config(tiny_config_toml, ["loss.tokens=1.0", "loss.token_layer=1"])
    report = distill(config, Path(config.output.dir)).report
    assert report["losses"]["tokens_used"] is True
    steps = [e for e in report["curves"]["train"] if "tokens" in e]
    assert steps and all(np.isfinite(e["tokens"]) and e["tokens"] > 0 for e in steps)
    (meta,) = Path(config.output.cache_dir).glob("teacher-tokens/*/meta.json")
    assert json.loads(meta.read_text())["layer"] == 1
