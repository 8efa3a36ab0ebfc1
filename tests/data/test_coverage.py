from __future__ import annotations

import random
from pathlib import Path

import pytest

from compress.config import Config, DataConfig, load_config
from compress.data import load_corpus, sentences_of
from compress.data.corpus import QueryPlan
from compress.data.coverage import coverage_order, coverage_sample, word_ids, words_of
from compress.data.queries import AUXILIARIES, STOP, WH_STARTS
from compress.enums import Sampling
from compress.errors import ConfigError

# a corpus most of whose lines say the same few things, with a few that carry words no other kind does
COMMON = [f"the cat sat on the mat number {i}" for i in range(60)] + [f"a dog ran in the park {i}" for i in range(60)]
RARE = ["compilers parse grammars into syntax trees", "syntax trees feed compilers and optimizers",
        "neutron flux in reactor cores", "reactor cores hold neutron moderators",
        "optimizers and moderators differ"]


def _distinct_words(texts: list[str]) -> int:
    return len({word for text in texts for word in text.lower().split() if not word.isdigit()})


def test_word_ids_drop_words_of_one_text_and_digits() -> None:
    ids = word_ids(["Alpha beta 42", "beta gamma", "ALPHA delta"])
    assert [len(t) for t in ids] == [2, 1, 1]  # gamma and delta are in one text each; 42 is not a word
    assert set(ids[2]) < set(ids[0])  # alpha is one word whatever its case


def test_coverage_prefers_texts_with_new_words_over_repeats() -> None:
    texts = COMMON + RARE
    chosen = coverage_sample(texts, 11)
    picked = [texts[i] for i in chosen]
    assert chosen == sorted(chosen) and len(set(chosen)) == 11
    # three of each common kind (their words are worth something until the sample holds them 3 times), then every
    # rare line before a fourth repeat of a common one
    assert set(RARE) <= set(picked)
    assert sum(text.startswith("the cat") for text in picked) == 3
    rng = random.Random(0)
    at_random = [texts[i] for i in sorted(rng.sample(range(len(texts)), 11))]
    assert _distinct_words(picked) > _distinct_words(at_random)


def test_coverage_is_deterministic_and_takes_all_when_asked_for_more() -> None:
    texts = COMMON + RARE
    assert coverage_sample(texts, 20) == coverage_sample(texts, 20)
    assert coverage_sample(texts, len(texts) + 3) == list(range(len(texts)))
    # each word counts until the sample holds it per_word times: with 1, a common line adds nothing after the first
    thrice = [texts[i] for i in coverage_sample(texts, 4)]
    once = [texts[i] for i in coverage_sample(texts, 4, per_word=1)]
    assert sum(text.startswith("the cat") for text in thrice) == 3
    assert sum(text.startswith(("the cat", "a dog")) for text in once) == 2 and len(set(once) & set(RARE)) == 2


def test_a_coverage_sample_keeps_the_corpus_contract(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(COMMON + RARE))
    corpus = load_corpus(path, max_sentences=30, validation=5, seed=1, queries=QueryPlan(10, 2),
                         sampling=Sampling.COVERAGE)
    assert len(corpus.train) == 25 and len(corpus.validation) == 5
    assert set(RARE) <= set(corpus.all)
    order = {text: i for i, text in enumerate(COMMON + RARE)}
    assert corpus.train == sorted(corpus.train, key=order.__getitem__)  # kept in file order
    assert len(corpus.queries) == 10 and len(corpus.validation_queries) == 2
    again = load_corpus(path, max_sentences=30, validation=5, seed=1, sampling=Sampling.COVERAGE)
    assert (again.train, again.validation) == (corpus.train, corpus.validation)


def test_coverage_queries_come_from_the_sentences_the_greedy_pass_picks_next(tmp_path: Path) -> None:
    texts = COMMON + RARE
    path = tmp_path / "c.txt"
    path.write_text("\n".join(texts))
    corpus = load_corpus(path, max_sentences=4, seed=1, queries=QueryPlan(4, 1), sampling=Sampling.COVERAGE)
    order = coverage_order(texts, 9)
    assert coverage_order(texts, 4) == order[:4] and sorted(order[:4]) == coverage_sample(texts, 4)  # a prefix
    assert set(corpus.train) == {texts[i] for i in order[:4]}
    pool = {word for i in order[4:] for word in words_of(texts[i])}
    added = STOP | set(AUXILIARIES) | {word for start in WH_STARTS for word in start.split()}
    assert len(corpus.all_queries) == 5
    assert all(set(words_of(query)) - added <= pool for query in corpus.all_queries)
    assert sorted(coverage_order(texts, len(texts) + 3)) == list(range(len(texts)))


def test_sentences_of_follows_the_sampling(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(COMMON + RARE))
    data = DataConfig(corpus=str(path), max_sentences=12, validation_sentences=2)
    covered = sentences_of(DataConfig(corpus=str(path), max_sentences=12, validation_sentences=2,
                                      sampling=Sampling.COVERAGE))
    assert set(RARE) <= set(covered.all) and not set(RARE) <= set(sentences_of(data).all)


def test_random_sampling_stays_out_of_the_stage_keys() -> None:
    assert "sampling" not in Config().key_dict()["data"]  # recipes before it keep their finished stages
    covered = Config(data=DataConfig(sampling=Sampling.COVERAGE))
    assert covered.key_dict()["data"]["sampling"] == "coverage"


def test_an_unknown_sampling_names_the_key_and_the_choices(tiny_config_toml: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.sampling.*coverage"):
        load_config(tiny_config_toml, ["data.sampling='words'"])
