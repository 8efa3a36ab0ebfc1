from __future__ import annotations

import random
from pathlib import Path

import pytest

from compress.config import load_config
from compress.data import corpus_of, load_corpus
from compress.data.corpus import QueryPlan
from compress.data.queries import STOP, build_queries, crop, keywords, question
from compress.errors import ConfigError

SENTENCES = ["The reaction rate doubles when the temperature rises by ten degrees.",
             "Marie Curie was a physicist who won two Nobel prizes in Paris.",
             "Compilers translate programs written in high level languages into machine code.",
             "Rain fell.", "ok"]


def test_each_shape_is_made_from_the_sentences_words() -> None:
    rng = random.Random(0)
    words = SENTENCES[0].rstrip(".").split()
    for _ in range(50):
        cut = crop(words, rng).split()
        assert 3 <= len(cut) <= 12 and " ".join(cut) in " ".join(words)
        keys = keywords(words, rng).split()
        assert 2 <= len(keys) <= 6 and not set(keys) & STOP and all(k.islower() for k in keys)
    asked = question(["Marie", "Curie", "was", "a", "physicist", "who", "won"], rng)
    assert asked.startswith("was Marie Curie a physicist") and asked.endswith("?")  # the yes/no question
    assert question(["Compilers", "translate", "programs", "into", "code"], rng).endswith("?")


def test_queries_are_seeded_distinct_in_turn_and_skip_short_sentences() -> None:
    pool = SENTENCES * 40
    a = build_queries(pool, 30, random.Random(1))
    assert a == build_queries(pool, 30, random.Random(1)) and a != build_queries(pool, 30, random.Random(2))
    assert len(a) == len(set(a)) == 30
    assert "ok" not in a and "Rain fell" not in " ".join(a)  # under 3 words: passed over
    assert sum(q.endswith("?") for q in a) >= 10  # a third are questions
    assert build_queries(pool, 0, random.Random(0)) == [] and build_queries([], 5, random.Random(0)) == []


def test_queries_come_from_outside_the_sample_and_keep_it(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(f"sentence{i} tells about topic{i} and more" for i in range(400)))
    plain = load_corpus(path, max_sentences=100, validation=10, seed=3)
    with_queries = load_corpus(path, max_sentences=100, validation=10, seed=3, queries=QueryPlan(20, 5))
    assert (with_queries.train, with_queries.validation) == (plain.train, plain.validation)
    assert with_queries.fingerprint() == plain.fingerprint()  # the sentence cache is kept
    assert len(with_queries.queries) == 20 and len(with_queries.validation_queries) == 5
    sampled = {s.split()[0] for s in plain.all}
    for query in with_queries.all_queries:
        assert not {w for w in query.replace("?", "").split() if w.startswith("sentence")} & sampled
    assert with_queries.training_texts == plain.train + with_queries.queries
    assert with_queries.query_fingerprint() != with_queries.fingerprint()


def test_corpus_of_follows_the_data_section(tiny_config_toml: Path) -> None:
    config = load_config(tiny_config_toml, ["data.queries=6", "data.validation_queries=2", "data.max_sentences=150"])
    corpus = corpus_of(config.data)
    assert len(corpus.queries) == 6 and len(corpus.validation_queries) == 2


@pytest.mark.parametrize(("override", "key"), [
    ("data.queries=-1", "data.queries"),
    ("data.validation_queries=-2", "data.validation_queries"),
    ("data.validation_queries=5", "data.validation_queries"),
])
def test_bad_query_settings_name_the_key(tiny_config_toml: Path, override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(tiny_config_toml, [override])


def test_own_queries_and_documents_train_beside_the_corpus(tiny_config_toml: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("how do compilers work\nbest pizza near me\nhow do compilers work\nwhy is the sky blue\n")
    documents = tmp_path / "docs.jsonl"
    long = " ".join(f"Sentence {i} ends here." for i in range(30))  # 120 words
    documents.write_text(f'{{"text": "{long}"}}\n{{"text": "A short document."}}\n')
    config = load_config(tiny_config_toml, [f"data.queries_file='{queries}'", "data.validation_queries=1",
                                            f"data.documents_file='{documents}'", "data.passage_words=[10, 50]"])
    corpus = corpus_of(config.data)
    assert corpus.queries == ["how do compilers work", "best pizza near me"]  # deduplicated; the last held back
    assert corpus.validation_queries == ["why is the sky blue"]
    assert corpus.passages[-1] == "A short document." and len(corpus.passages) == 4  # 120 words: 3 of <= 50
    assert all(len(p.split()) <= 50 and p.endswith(".") for p in corpus.passages)
    assert " ".join(corpus.passages[:3]) == long  # cut at sentence ends, nothing lost
    made = corpus_of(load_config(tiny_config_toml, [f"data.queries_file='{queries}'", "data.queries=5",
                                                    "data.max_sentences=100"]).data)
    assert made.queries[:3] == ["how do compilers work", "best pizza near me", "why is the sky blue"]
    assert len(made.queries) == 3 + 5  # with made queries, all of the file's train


def test_own_text_files_are_checked_before_any_work(tiny_config_toml: Path, tmp_path: Path) -> None:
    from compress.preflight import check_data_files

    for key in ("queries_file", "documents_file"):
        config = load_config(tiny_config_toml, [f"data.{key}='{tmp_path / 'missing.txt'}'"])
        with pytest.raises(ConfigError, match=rf"data\.{key}.*does not exist"):
            check_data_files(config)
    with pytest.raises(ConfigError, match=r"data\.documents_file.*static"):
        load_config(tiny_config_toml, ["student.kind='static'", f"data.documents_file='{tmp_path}'"])
