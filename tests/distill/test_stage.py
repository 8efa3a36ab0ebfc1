from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from transformers import TrainerCallback

from compress.config import load_config
from compress.distill.stage import REPORT_NAME, distill


def test_distill_writes_a_loadable_student_and_a_full_report(tiny_config_toml: Path) -> None:
    config = load_config(tiny_config_toml, ["loss.similarity=0.5", "loss.temperature_end=0.02"])
    result = distill(config, Path(config.output.dir))
    student = SentenceTransformer(str(result.student_dir), device="cpu")
    assert student[0].auto_model.config.num_hidden_layers == 2
    assert student.encode(["a dog runs."]).shape == (1, 32)
    report = json.loads((result.student_dir / REPORT_NAME).read_text())
    assert report["teacher"]["parameters"] > report["student"]["parameters"]
    assert report["teacher"]["layers"] == 4 and report["student"]["layers"] == 2
    assert report["losses"] == {"mse": 1.0, "similarity": 0.5}
    for who in ("teacher", "student"):
        assert set(report["sts_spearman"][who]) == {"sts_dev", "sts_test"}
    assert report["sts_spearman"]["retention_percent"]["sts_test"] == pytest.approx(
        100 * report["sts_spearman"]["student"]["sts_test"] / report["sts_spearman"]["teacher"]["sts_test"])
    curves = report["curves"]
    assert curves["train"] and all("mse" in e and "similarity" in e for e in curves["train"])
    evals = [e for e in curves["validation"]]
    assert {"eval_distill_mse", "eval_distill_cosine", "eval_distill_sts_dev_spearman"} <= set(evals[0])
    assert evals[-1]["step"] == report["training"]["steps"]  # validated at the last step too
    assert report["training"]["sentences"] == 180 and report["training"]["sentences_per_second"] > 0
    assert report["timing"]["wall_seconds"] > 0
    assert not [p for p in result.student_dir.parent.iterdir() if ".tmp-" in p.name]


class CrashAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            raise KeyboardInterrupt("simulated crash")


def test_training_resumes_from_the_last_checkpoint(tiny_config_toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import compress.distill.stage as distill_module
    from compress.distill.train import trainer

    config = load_config(tiny_config_toml, ["loss.hidden=1"])
    original = trainer.train_student

    def crashing(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs, extra_callbacks=[CrashAt(7)])

    monkeypatch.setattr(distill_module, "train_student", crashing)
    with pytest.raises(KeyboardInterrupt):
        distill(config, Path(config.output.dir))
    assert not Path(config.output.dir).exists()  # nothing that looks finished
    checkpoints = list(Path(config.output.cache_dir).glob("runs/*/checkpoints/checkpoint-5"))
    assert len(checkpoints) == 1 and (checkpoints[0] / "distill_loss_state.safetensors").exists()
    monkeypatch.setattr(distill_module, "train_student", original)
    result = distill(config, Path(config.output.dir))
    training = result.report["training"]
    assert training["resumed_from"].endswith("checkpoint-5")
    assert training["steps"] == 12
    assert (result.student_dir / "model.safetensors").exists()


def test_pca_student_is_saved_with_its_pca(tiny_config_toml: Path, tiny_other_dir: Path) -> None:
    config = load_config(tiny_config_toml, ["student.kind=pretrained", f"student.model='{tiny_other_dir}'",
                                            "student.match=pca"])
    result = distill(config, Path(config.output.dir))
    from compress.distill.students import Pca

    pca = Pca.load(result.student_dir)
    assert pca.components.shape == (16, 32)
    assert result.report["validation"]["targets"] == "teacher (PCA-reduced)"
    assert np.isfinite(result.report["validation"]["cosine"])


def test_the_report_hands_later_stages_what_they_need(tiny_config_toml: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from compress.data import load_corpus
    from compress.handoff import read_handoff
    from export import stage

    config = load_config(tiny_config_toml, ["student.keep_layers=[0, 3]", "data.validation_sentences=50"])
    result = distill(config, tmp_path / "student")
    handoff = read_handoff(result.student_dir)
    data = config.data
    corpus = load_corpus(Path(data.corpus), data.column, data.max_sentences, data.validation_sentences, data.seed)
    assert handoff is not None and handoff.heldback == corpus.validation and len(handoff.heldback) == 50
    assert handoff.student_kind == "pruned" and handoff.teacher_layers == [0, 3]

    def no_corpus(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("export must not re-read the corpus: the hand-off has the sentences")

    monkeypatch.setattr(stage, "load_corpus", no_corpus)
    assert stage.heldback_sentences(config, result.student_dir) == corpus.validation


def test_passages_are_embedded_at_their_own_length_beside_the_sentence_cache(tiny_config_toml: Path) -> None:
    from compress.data import corpus_of

    config = load_config(tiny_config_toml, ["data.max_sentences=150", "data.passages=12", "data.validation_passages=4",
                                            "data.passage_words=[15, 40]", "data.passage_max_tokens=64"])
    result = distill(config, Path(config.output.dir))
    report = result.report
    assert report["training"]["passages"] == 12 and report["training"]["sentences"] == 130 + 12
    passages = report["validation"]["passages"]
    assert passages["held_back"] == 4 and -1 <= passages["cosine"] <= 1
    metas = [json.loads(p.read_text()) for p in Path(config.output.cache_dir).glob("teacher/*/meta.json")]
    by_length = {m["key"]["max_seq_length"]: m for m in metas}
    assert set(by_length) == {config.teacher.max_seq_length, 64}
    corpus = corpus_of(config.data)
    assert by_length[64]["shape"][0] == 16 and by_length[64]["key"]["corpus"] == corpus.passage_fingerprint()
    # the sentence cache is the one a run without passages uses
    assert by_length[config.teacher.max_seq_length]["key"]["corpus"] == corpus.fingerprint()
    assert by_length[config.teacher.max_seq_length]["shape"][0] == 150


def test_keep_loss_trains_a_pretrained_student_on_its_own_embeddings_beside_the_targets(
        tiny_config_toml: Path, tiny_other_dir: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from compress.data import corpus_of
    from compress.distill import prior as prior_module
    from compress.distill import stage as distill_module
    from compress.errors import ConfigError

    with pytest.raises(ConfigError, match="pretrained"):
        load_config(tiny_config_toml, ["loss.keep=0.5"])  # the tiny config's student is a pruned teacher
    seen: list[np.ndarray] = []
    embed = prior_module.prior_embeddings

    def recorded(config: Any, texts: list[str]) -> np.ndarray:
        seen.append(embed(config, texts))
        return seen[-1]

    monkeypatch.setattr(distill_module, "prior_embeddings", recorded)
    config = load_config(tiny_config_toml, ["student.kind='pretrained'", f"student.model='{tiny_other_dir}'",
                                            "student.keep_layers=[0]", "loss.keep=0.5"])
    report = distill(config, Path(config.output.dir)).report
    assert report["losses"] == {"mse": 1.0, "keep": 0.5}
    assert all("keep" in e for e in report["curves"]["train"])
    # the published model (both of its layers, its own width) embedded every training sentence once
    assert len(seen) == 1 and seen[0].shape == (180, 16)
    np.testing.assert_allclose(np.linalg.norm(seen[0], axis=1), 1.0, rtol=1e-5)
    # through the embedding cache, keyed by the published model's weights: a rerun reads it back
    metas = [json.loads(p.read_text()) for p in Path(config.output.cache_dir).glob("teacher/*/meta.json")]
    assert sorted(m["shape"][1] for m in metas) == [16, 32]  # the prior's width beside the teacher's
    caplog.set_level("INFO", logger="compress.distill.teacher_cache")
    again = embed(config, corpus_of(config.data).train)
    np.testing.assert_array_equal(again, seen[0])
    assert "prior embeddings: reusing cache" in caplog.text


def test_query_shaped_texts_train_beside_the_sentences_and_are_reported(tiny_config_toml: Path) -> None:
    from compress.data import corpus_of

    config = load_config(tiny_config_toml, ["data.max_sentences=150", "data.queries=30", "data.validation_queries=6",
                                            "loss.cross=0.5"])
    result = distill(config, Path(config.output.dir))
    report = result.report
    assert report["training"]["queries"] == 30 and report["training"]["sentences"] == 130 + 30
    assert report["losses"] == {"mse": 1.0, "cross": 0.5}
    queries = report["validation"]["queries"]
    assert queries["held_back"] == 6 and -1 <= queries["cosine"] <= 1
    corpus = corpus_of(config.data)
    metas = [json.loads(p.read_text()) for p in Path(config.output.cache_dir).glob("teacher/*/meta.json")]
    by_corpus = {m["key"]["corpus"]: m for m in metas}
    assert by_corpus[corpus.query_fingerprint()]["shape"][0] == 36  # queries: a cache of their own
    assert by_corpus[corpus.fingerprint()]["shape"][0] == 150  # the sentence cache a run without them uses


def test_checkpoints_can_be_chosen_by_held_back_query_cosine(tiny_config_toml: Path) -> None:
    from compress.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train\.select_by"):
        load_config(tiny_config_toml, ["train.select_by='query_cosine'"])  # no held-back queries
    config = load_config(tiny_config_toml, ["data.max_sentences=150", "data.queries=20", "data.validation_queries=6",
                                            "train.select_by='query_cosine'", "train.eval_steps=2"])
    report = distill(config, Path(config.output.dir)).report
    assert report["training"]["best_metric"] == pytest.approx(max(
        p["eval_distill_query_cosine"] for p in report["curves"]["validation"]), abs=1e-6)


def test_a_refit_projection_is_judged_on_the_held_back_queries_and_reported(tiny_config_toml: Path,
                                                                           tiny_other_dir: Path) -> None:
    settings = ["student.kind=pretrained", f"student.model='{tiny_other_dir}'", "data.max_sentences=150",
                "data.queries=20", "data.validation_queries=6", "train.select_by='query_cosine'"]
    config = load_config(tiny_config_toml, [*settings, "student.refit=true"])
    result = distill(config, Path(config.output.dir))
    trained = distill(load_config(tiny_config_toml, settings), Path(config.output.dir).parent / "plain")
    assert trained.work_dir == result.work_dir  # the refit comes after training: the same checkpoints serve both
    refit = result.report["refit"]
    assert refit["judged_on"] == "queries" and refit["texts"] == 130 + 20
    assert refit["kept"] == (refit["after"] > refit["before"])
    # the report's held-back query cosine is the saved student's: the better of the two projections (to the
    # rounding of another batch size)
    assert result.report["validation"]["queries"]["cosine"] == pytest.approx(max(refit["before"], refit["after"]),
                                                                             abs=2e-4)
