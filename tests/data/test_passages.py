from __future__ import annotations

import random
from pathlib import Path

import pytest

from compress.config import load_config
from compress.data import PassagePlan, corpus_of, load_corpus
from compress.data.passages import build_passages, word_counts
from compress.errors import ConfigError


def _pool(n: int) -> list[str]:
    """Sentences of 2 or 6 words whose first word names them (s17 ...)."""
    return [f"s{i} has six words in it" if i % 2 else f"s{i} short" for i in range(n)]


def _ids(passage: str) -> list[str]:
    return [w for w in passage.split() if w.startswith("s") and w[1:].isdigit()]


def test_passages_are_seeded_in_range_and_never_repeat_a_sentence() -> None:
    pool = _pool(1000)
    a = build_passages(pool, 40, 20, 60, random.Random(1))
    assert len(a) == 40
    assert a == build_passages(pool, 40, 20, 60, random.Random(1))
    assert a != build_passages(pool, 40, 20, 60, random.Random(2))
    for passage in a:
        assert 20 <= len(passage.split()) < 60 + 6  # stops at the first sentence that reaches the drawn length
        ids = _ids(passage)
        assert len(ids) == len(set(ids))
    every = [i for p in a for i in _ids(p)]
    assert len(every) == len(set(every))  # the pool is large enough: no sentence is used twice at all
    counts = word_counts(a)
    assert 20 <= counts["min"] <= counts["mean"] <= counts["max"] < 66


def test_a_small_pool_is_reused_across_passages_but_not_within_one() -> None:
    pool = [f"w{i} x y" for i in range(10)]  # 30 words in all
    passages = build_passages(pool, 5, 12, 12, random.Random(0))
    assert len(passages) == 5
    for passage in passages:
        words = passage.split()
        heads = [w for w in words if w.startswith("w")]
        assert len(heads) == len(set(heads)) == 4  # 4 sentences of 3 words reach 12
    assert build_passages(pool, 1, 100, 100, random.Random(0))[0].count("w") == 10  # the whole pool, once
    assert build_passages(pool, 0, 1, 2, random.Random(0)) == [] and build_passages([], 3, 1, 2, random.Random(0)) == []


def test_passages_come_from_outside_the_sample_and_keep_it(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(f"sentence {i} of the corpus" for i in range(400)))
    plain = load_corpus(path, max_sentences=100, validation=10, seed=3)
    with_passages = load_corpus(path, max_sentences=100, validation=10, seed=3,
                                passages=PassagePlan(count=12, validation=3, min_words=10, max_words=20))
    assert (with_passages.train, with_passages.validation) == (plain.train, plain.validation)
    assert with_passages.fingerprint() == plain.fingerprint()  # the sentence cache is kept
    assert len(with_passages.passages) == 12 and len(with_passages.validation_passages) == 3
    sampled = set(plain.all)
    for passage in with_passages.all_passages:
        pieces = {f"sentence {n} of the corpus" for n in passage.replace("sentence ", "|").split("|")[1:]
                  for n in [n.split()[0]]}
        assert pieces and not pieces & sampled
    again = load_corpus(path, max_sentences=100, validation=10, seed=3,
                        passages=PassagePlan(count=12, validation=3, min_words=10, max_words=20))
    assert again == with_passages and again.passage_fingerprint() != again.fingerprint()


def test_the_whole_file_sampled_builds_passages_from_the_training_slice(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(f"line {i}" for i in range(50)))
    corpus = load_corpus(path, validation=5, passages=PassagePlan(count=4, min_words=6, max_words=8))
    validation = set(corpus.validation)
    for passage in corpus.passages:
        lines = {"line " + n for n in passage.replace("line ", "|").split("|")[1:]}
        assert not {s.strip() for s in lines} & validation


def test_corpus_of_follows_the_data_section(tiny_config_toml: Path) -> None:
    config = load_config(tiny_config_toml, ["data.passages=6", "data.validation_passages=2",
                                            "data.passage_words=[10, 30]", "data.max_sentences=150"])
    corpus = corpus_of(config.data)
    assert len(corpus.passages) == 6 and len(corpus.validation_passages) == 2
    assert all(len(p.split()) >= 10 for p in corpus.all_passages)


@pytest.mark.parametrize(("override", "key"), [
    ("data.passage_words=[50, 10]", "data.passage_words"),
    ("data.passage_words=[10]", "data.passage_words"),
    ("data.passages=-1", "data.passages"),
    ("data.validation_passages=5", "data.validation_passages"),
    ("data.passage_max_tokens=4", "data.passage_max_tokens"),
])
def test_bad_passage_settings_name_the_key(tiny_config_toml: Path, override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(tiny_config_toml, [override])


def test_a_static_student_has_no_passages(tiny_config_toml: Path) -> None:
    with pytest.raises(ConfigError, match="static"):
        load_config(tiny_config_toml, ["student.kind='static'", "data.passages=10"])
