"""Stage keys and the stage store: what reruns when, partial folders, one run per cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from compress.config import load_config
from compress.errors import CompressError
from compress.run.keys import stage_keys
from compress.run.stages import STAGE_FILE, StageStore


def keys_with(config: Path, *overrides: str) -> tuple[str, str, str]:
    keys = stage_keys(load_config(config, list(overrides)))
    return keys.distill, keys.export, keys.bench


def test_a_change_reruns_its_stage_and_the_ones_after(tiny_config_toml: Path) -> None:
    base = keys_with(tiny_config_toml)
    assert keys_with(tiny_config_toml) == base
    bench = keys_with(tiny_config_toml, "bench.latency_calls=7")
    assert bench[:2] == base[:2] and bench[2] != base[2]
    export = keys_with(tiny_config_toml, "export.min_cosine=0.5")
    assert export[0] == base[0] and export[1] != base[1] and export[2] != base[2]
    train = keys_with(tiny_config_toml, "train.learning_rate=0.001")
    assert all(a != b for a, b in zip(train, base, strict=True))
    assert keys_with(tiny_config_toml, "output.progress=true") == base  # not an input of any stage
    assert keys_with(tiny_config_toml, "bench.max_size_mb=1.0", "bench.min_retention=99.0") == base  # gates


def test_passages_and_token_targets_are_keyed_only_when_on(tiny_config_toml: Path) -> None:
    base = keys_with(tiny_config_toml)
    # off: the keys a recipe had before these settings existed
    assert keys_with(tiny_config_toml, "data.passage_words=[10, 20]", "data.passage_max_tokens=64") == base
    assert keys_with(tiny_config_toml, "loss.tokens=0") == base
    passages = keys_with(tiny_config_toml, "data.passages=10")
    assert all(a != b for a, b in zip(passages, base, strict=True))
    assert keys_with(tiny_config_toml, "data.passages=10", "data.passage_max_tokens=64")[0] != passages[0]
    assert keys_with(tiny_config_toml, "loss.tokens=0.5")[0] != base[0]


def test_corpus_bytes_are_part_of_every_key(tiny_config_toml: Path, tmp_path: Path, corpus_file: Path) -> None:
    copy = tmp_path / "corpus-copy.txt"
    copy.write_text(corpus_file.read_text())
    same = keys_with(tiny_config_toml, f"data.corpus='{copy}'")
    assert same == keys_with(tiny_config_toml)  # content, not path
    copy.write_text(corpus_file.read_text() + "one more sentence.\n")
    changed = keys_with(tiny_config_toml, f"data.corpus='{copy}'")
    assert all(a != b for a, b in zip(changed, same, strict=True))


def test_store_reuses_finished_stages_only(tmp_path: Path) -> None:
    store = StageStore(tmp_path / "stages")
    calls: list[Path] = []

    def build(folder: Path) -> dict[str, int]:
        calls.append(folder)
        (folder / "out.txt").write_text("done")
        return {"n": len(calls)}

    with store.locked():
        first = store.run("s", "k1", build)
        second = store.run("s", "k1", build)
    assert not first.reused and second.reused and len(calls) == 1
    assert second.info == {"n": 1} and (second.folder / "out.txt").read_text() == "done"
    assert (first.folder / STAGE_FILE).is_file() and calls[0].name == ".tmp-k1"


def test_store_cleans_partial_folders_and_fails_cleanly(tmp_path: Path) -> None:
    store = StageStore(tmp_path / "stages")
    partial = tmp_path / "stages" / "s" / ".tmp-old"
    partial.mkdir(parents=True)

    def broken(folder: Path) -> dict[str, int]:
        raise CompressError("bad input")

    with store.locked():
        assert not partial.exists()
        with pytest.raises(CompressError):
            store.run("s", "k2", broken)
    assert not (tmp_path / "stages" / "s" / "k2").exists()  # nothing that looks finished


def test_one_run_per_cache(tmp_path: Path) -> None:
    store = StageStore(tmp_path / "stages")
    with store.locked(), pytest.raises(CompressError, match="another compress run"), StageStore(store.root).locked():
        pass


def test_queries_cross_ffn_size_and_refit_are_keyed_only_when_on(tiny_config_toml: Path) -> None:
    base = keys_with(tiny_config_toml)
    assert keys_with(tiny_config_toml, "data.queries=0", "loss.cross=0", "student.ffn_size=none",
                     "student.refit=false") == base
    for override in ("data.queries=10", "loss.cross=0.5", "student.ffn_size=16"):
        assert keys_with(tiny_config_toml, override)[0] != base[0], override
    pretrained = keys_with(tiny_config_toml, "student.kind=pretrained")
    assert keys_with(tiny_config_toml, "student.kind=pretrained", "student.refit=true")[0] != pretrained[0]


def test_own_text_files_are_keyed_by_their_bytes(tiny_config_toml: Path, tmp_path: Path) -> None:
    own = tmp_path / "queries.txt"
    own.write_text("how do compilers work\n")
    base = keys_with(tiny_config_toml)
    first = keys_with(tiny_config_toml, f"data.queries_file='{own}'")
    assert first[0] != base[0]
    own.write_text("how do compilers work\nwhy is the sky blue\n")
    assert keys_with(tiny_config_toml, f"data.queries_file='{own}'")[0] != first[0]
    documents = keys_with(tiny_config_toml, f"data.documents_file='{own}'")  # split at passage_words[1] words
    assert keys_with(tiny_config_toml, f"data.documents_file='{own}'", "data.passage_words=[10, 20]")[0] != documents[0]
