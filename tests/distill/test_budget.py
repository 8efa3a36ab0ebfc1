"""``train.budget_minutes``: the policy (pure), the probe on tiny models, the recorded choice, exact reproduction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from compress.config import DataConfig, load_config
from compress.data import sentences_of
from compress.distill import budget as budget_module
from compress.distill.budget import budgeted, record_path
from compress.distill.budget import probe as probe_module
from compress.distill.budget.plan import BASE_SENTENCES, MAX_EPOCHS, MIN_EPOCHS, Costs, choose
from compress.distill.budget.probe import costs_of, measure
from compress.distill.stage import distill
from compress.enums import Sampling
from compress.errors import ConfigError

# per-sentence costs in the ratio measured on the AVX512-BF16 EPYC (teacher 62/s, training 118/s), 2 min fixed
EPYC = Costs(teacher_s=1 / 62, train_s=1 / 118, fixed_s=120.0)
CORPUS, VALIDATION = 386_000, 1000


def total(costs: Costs, sample: int, epochs: float) -> float:
    return sum(costs.seconds(sample, VALIDATION, epochs).values())


def test_a_budget_that_fits_the_base_sample_spends_the_rest_on_epochs() -> None:
    choice = choose(50 * 60, EPYC, CORPUS, VALIDATION)
    assert choice.rule == "more epochs" and choice.max_sentences == BASE_SENTENCES
    assert MIN_EPOCHS <= choice.epochs < MAX_EPOCHS and (choice.epochs * 4).is_integer()
    assert total(EPYC, BASE_SENTENCES, choice.epochs) <= 50 * 60 < total(EPYC, BASE_SENTENCES, choice.epochs + 0.25)
    assert sum(choice.estimate_s.values()) == pytest.approx(total(EPYC, BASE_SENTENCES, choice.epochs), abs=0.5)


def test_a_larger_budget_buys_more_sentences_once_the_epochs_are_at_their_cap() -> None:
    choice = choose(120 * 60, EPYC, CORPUS, VALIDATION)
    assert choice.rule == "more sentences" and choice.epochs == MAX_EPOCHS
    assert choice.max_sentences > BASE_SENTENCES and choice.max_sentences % 1000 == 0
    assert total(EPYC, choice.max_sentences, MAX_EPOCHS) <= 120 * 60 < total(EPYC, choice.max_sentences + 1000,
                                                                               MAX_EPOCHS)
    assert choose(10_000 * 60, EPYC, CORPUS, VALIDATION).max_sentences == CORPUS  # never more than the corpus


def test_a_faster_machine_gets_a_larger_run_in_the_same_minutes() -> None:
    slow = Costs(teacher_s=1 / 14, train_s=1 / 40, fixed_s=120.0)
    fast, slower = choose(60 * 60, EPYC, CORPUS, VALIDATION), choose(60 * 60, slow, CORPUS, VALIDATION)
    assert slower.rule == "fewer sentences" and slower.epochs == MIN_EPOCHS
    assert slower.max_sentences * slower.epochs < fast.max_sentences * fast.epochs


def test_passages_are_paid_for_before_the_sentences() -> None:
    with_passages = Costs(EPYC.teacher_s, EPYC.train_s, EPYC.fixed_s + 600, passage_train_s=120.0)
    assert choose(50 * 60, with_passages, CORPUS, VALIDATION).epochs < choose(50 * 60, EPYC, CORPUS, VALIDATION).epochs


def test_a_budget_too_small_is_a_config_error_with_the_minimum() -> None:
    with pytest.raises(ConfigError) as caught:
        choose(3 * 60, EPYC, CORPUS, VALIDATION)
    assert "train.budget_minutes" in caught.value.message and "at least" in str(caught.value.hint)


def test_budget_minutes_must_be_positive(tiny_config_toml: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.budget_minutes"):
        load_config(tiny_config_toml, ["train.budget_minutes=0"])


def test_no_budget_leaves_the_config_and_its_keys_as_they_were(tiny_config_toml: Path) -> None:
    config = load_config(tiny_config_toml)
    assert budgeted(config) == (config, None)
    assert "budget_minutes" not in config.key_dict()["train"]


def test_the_probe_measures_the_recipe_on_this_machine(tiny_config_toml: Path) -> None:
    config = load_config(tiny_config_toml, ["data.passages=8", "data.passage_words=[15, 40]",
                                            "data.passage_max_tokens=64"])
    found = measure(config)
    assert found.teacher_per_s > 0 and found.train_per_s > 0 and found.student_per_s > 0
    assert found.passage_teacher_per_s is not None and found.passage_teacher_per_s > 0
    costs = costs_of(found, config, dev_pairs=40)
    assert costs.teacher_s == pytest.approx(1 / found.teacher_per_s)
    assert costs.train_s > 1 / found.train_per_s  # the evaluations' share
    assert costs.fixed_s > found.load_s and costs.passage_train_s > 0
    assert found.prior_per_s is None  # no loss.keep: no second frozen model to pay for


def test_with_coverage_sampling_the_probe_times_texts_of_the_runs_sample(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.txt"
    short = [f"a cat sat {i}" for i in range(150)]
    def tag(i: int) -> str:  # a word of letters only, one for each i
        return "x" + "".join("abcdefghij"[int(d)] for d in str(i))

    dense = [f"{tag(i)}a {tag(i)}b {tag(i)}c {tag(i + 1)}a {tag(i + 1)}b {tag(i + 1)}c and more" for i in range(50)]
    path.write_text("\n".join(short + dense))
    monkeypatch.setattr(probe_module, "BASE_SENTENCES", 60)
    data = DataConfig(corpus=str(path), sampling=Sampling.COVERAGE, sts_train=None, sts_dev=None, sts_test=None)
    drawn = probe_module._like_coverage(data, 20)
    run_sample = sentences_of(DataConfig(corpus=str(path), max_sentences=60, validation_sentences=0,
                                         sampling=Sampling.COVERAGE)).train
    assert len(drawn) == 20 and set(drawn) <= set(run_sample) and drawn == probe_module._like_coverage(data, 20)
    assert sum(text in dense for text in drawn) > 20 * len(dense) / len(short + dense)  # more than a random draw's


def test_with_the_keep_loss_the_probe_pays_for_the_published_students_pass(tiny_config_toml: Path,
                                                                          tiny_other_dir: Path) -> None:
    config = load_config(tiny_config_toml, ["student.kind='pretrained'", f"student.model='{tiny_other_dir}'",
                                            "student.keep_layers=[0]", "loss.keep=0.5"])
    found = measure(config)
    assert found.prior_per_s is not None and found.prior_per_s > 0
    costs = costs_of(found, config, dev_pairs=40)
    assert costs.teacher_s == pytest.approx(1 / found.teacher_per_s + 1 / found.prior_per_s)


def test_the_choice_is_recorded_pinned_and_reused(tiny_config_toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(tiny_config_toml, ["train.budget_minutes=30"])
    pinned, record = budgeted(config)
    assert record is not None and record_path(config).is_file()
    choice = record["choice"]
    # a tiny corpus: every sentence of it, at the epoch cap
    assert (choice["max_sentences"], choice["epochs"], choice["rule"]) == (240, MAX_EPOCHS, "more sentences")
    assert pinned.train.budget_minutes is None and pinned.train.epochs == MAX_EPOCHS
    assert pinned.data.max_sentences == 240
    assert pinned.key_dict() == load_config(tiny_config_toml, ["data.max_sentences=240", "train.epochs=4"]).key_dict()

    def no_probe(_: object) -> None:
        raise AssertionError("a recorded choice is not measured again")

    monkeypatch.setattr(budget_module, "_plan", no_probe)
    assert budgeted(config) == (pinned, json.loads(record_path(config).read_text()))


def test_under_torchrun_a_budget_needs_a_recorded_choice(tiny_config_toml: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="single process"):
        budgeted(load_config(tiny_config_toml, ["train.budget_minutes=30"]))


def test_the_budgeted_student_is_the_pinned_configs_student(tiny_config_toml: Path, tmp_path: Path) -> None:
    """The probe trains a throwaway student first; the run after it must not depend on that."""
    config, _ = budgeted(load_config(tiny_config_toml, ["train.budget_minutes=30"]))
    first = distill(config, tmp_path / "budgeted")
    pinned = load_config(tiny_config_toml, ["data.max_sentences=240", "train.epochs=4",
                                            f"output.cache_dir={tmp_path / 'other-cache'}"])
    second = distill(pinned, tmp_path / "pinned")
    weights = [load_file(str(r.student_dir / "model.safetensors")) for r in (first, second)]
    assert weights[0].keys() == weights[1].keys()
    assert all((weights[0][k] == weights[1][k]).all() for k in weights[0])
