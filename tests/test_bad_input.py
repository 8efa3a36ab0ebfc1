"""Every bad input is refused before work starts: exit 2, a message naming the key, file or value and the fix, no
traceback, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from compress.cli import app
from compress.run.stages import StageStore

runner = CliRunner()


def _refused(args: list[str], needle: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    return result.output


def _run(config: Path, *extra: str) -> list[str]:
    return ["run", "--config", str(config), *extra]


@pytest.mark.parametrize(("out", "needle"), [
    ("/proc/st-compress-test/out", "cannot be written"),
    ("{file}/sub", "is a file, not a folder"),
])
def test_run_refuses_an_unwritable_release_folder_before_any_work(tiny_config_toml: Path, tmp_path: Path,
                                                                  out: str, needle: str) -> None:
    (tmp_path / "file").write_text("x")
    _refused(_run(tiny_config_toml, "--out", out.format(file=tmp_path / "file")), needle)
    assert not (tmp_path / "cache").exists()  # nothing written: not even the cache folder


def test_run_refuses_an_unwritable_cache(tiny_config_toml: Path, tmp_path: Path) -> None:
    _refused(_run(tiny_config_toml, "--out", str(tmp_path / "out"), "--set",
                  "output.cache_dir='/proc/st-compress-test/cache'"), "output.cache_dir")
    assert not (tmp_path / "out").exists()


def test_init_refuses_an_unwritable_path(tmp_path: Path) -> None:
    _refused(["init", "/proc/st-compress-test/c.toml"], "cannot be written")
    _refused(["init", str(tmp_path)], "is a folder")


def test_a_config_path_that_is_a_directory(tmp_path: Path) -> None:
    _refused(["check-config", "--config", str(tmp_path)], "is a directory")


def test_a_corpus_that_is_a_directory(tiny_config_toml: Path, tmp_path: Path) -> None:
    _refused(["check-config", "--config", str(tiny_config_toml), "--set", f"data.corpus='{tmp_path}'"],
             "is a directory, not a file")


def test_a_peer_that_is_not_a_sentence_transformers_folder(tiny_config_toml: Path, tmp_path: Path) -> None:
    for peer in ("/no/such/model", str(tmp_path)):  # a path that is not there; a folder without modules.json
        _refused(["check-config", "--config", str(tiny_config_toml), "--set", f"bench.peers=['{peer}']"],
                 "config key 'bench.peers'")
        _refused(["bench", "--config", str(tiny_config_toml), "--teacher", "none", "--out", str(tmp_path / "b"),
                  "--set", f"bench.peers=['{peer}']", str(tmp_path)], "config key 'bench.peers'")
    assert not (tmp_path / "b").exists()


def test_check_config_checks_the_data_files(tiny_config_toml: Path) -> None:
    _refused(["check-config", "--config", str(tiny_config_toml), "--set", "data.sts_test='/no/such.csv'"],
             "config key 'data.sts_test': file /no/such.csv does not exist")


@pytest.mark.parametrize(("override", "needle"), [
    ("train.learning_rate=inf", "'train.learning_rate' must be a finite number"),
    ("train.epochs=inf", "'train.epochs' must be a finite number"),
    ("train.warmup_ratio=-5", "'train.warmup_ratio' must be in [0, 1)"),
    ("export.min_cosine=nan", "'export.min_cosine' must be a finite number"),
    ("export.min_cosine=1.5", "'export.min_cosine' must be in (0, 1]"),
    ("teacher.max_seq_length=-5", "'teacher.max_seq_length' must be >= 1"),
    ("student.keep_layers=[]", "'student.keep_layers' = [] must list distinct layer indices"),
    ("student.keep_layers=[0, 0]", "must list distinct layer indices"),
    ("student.keep_layers=[0, 9]", "layer 9 is out of range; "),
    ("student.num_layers=12", "'student.num_layers' is 12; the teacher"),
    ("loss.layer_map=[0, 7]", "'loss.layer_map' = [0, 7]: layer 7 is out of range"),
    ("bench.profiles=['x86-server', 'pi-zero']", "unknown profile 'pi-zero'"),
    ("bench.max_size_mb=0", "'bench.max_size_mb' must be > 0"),
])
def test_bad_values_are_refused_by_check_config_and_run(tiny_config_toml: Path, tmp_path: Path, override: str,
                                                        needle: str) -> None:
    _refused(["check-config", "--config", str(tiny_config_toml), "--set", override], needle)
    _refused(_run(tiny_config_toml, "--out", str(tmp_path / "out"), "--set", override), needle)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_a_token_layer_past_the_teachers_blocks_is_refused_before_the_teachers_pass(tiny_config_toml: Path,
                                                                                     tmp_path: Path) -> None:
    sets = ["--set", "loss.tokens=1", "--set", "loss.token_layer=4"]
    _refused(["check-config", "--config", str(tiny_config_toml), *sets], "'loss.token_layer' = 4: layer 4 is out")
    _refused(_run(tiny_config_toml, "--out", str(tmp_path / "out"), *sets), "layer 4 is out of range")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_layer_check_names_the_pretrained_model(tiny_config_toml: Path, tiny_other_dir: Path) -> None:
    output = _refused(["check-config", "--config", str(tiny_config_toml), "--set", "student.kind='pretrained'",
                       "--set", f"student.model='{tiny_other_dir}'", "--set", "student.keep_layers=[0, 2]"],
                      "layer 2 is out of range")
    assert "has 2 layers (0..1)" in output


def test_a_data_error_leaves_nothing_behind(tiny_config_toml: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(b"a fine sentence.\nanother one\n\xff\xfe broken bytes\n")
    output = _refused(_run(tiny_config_toml, "--out", str(tmp_path / "out"), "--set", f"data.corpus='{corpus}'"),
                      f"{corpus}:3: bytes that are not UTF-8")
    assert "fix:" in output
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_a_failed_stage_leaves_no_partial_folder_or_lock(tmp_path: Path) -> None:
    store = StageStore(tmp_path / "stages")

    def broken(folder: Path) -> dict[str, str]:
        (folder / "half.bin").write_bytes(b"half")
        raise ValueError("stage failed")

    with pytest.raises(ValueError, match="stage failed"), store.locked():
        store.run("distill", "k1", broken)
    assert [p.name for p in (tmp_path / "stages").rglob("*")] == ["distill"]  # no .tmp-k1, no .lock file


def test_bench_refuses_a_model_path_that_does_not_exist(tmp_path: Path) -> None:
    _refused(["bench", "/nope", "--teacher", "none", "--out", str(tmp_path / "b")], "/nope does not exist")
    assert not (tmp_path / "b").exists()


def test_serve_refuses_a_bad_port_and_a_port_in_use(exported) -> None:
    import socket

    result = runner.invoke(app, ["serve", str(exported.out_dir), "--port", "70000"])
    assert result.exit_code == 2 and "65535" in result.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _refused(["serve", str(exported.out_dir), "--port", str(port)], f"cannot listen on 127.0.0.1:{port}")


def test_distill_never_replaces_a_folder_that_is_not_a_student(tiny_config_toml: Path, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    _refused(["distill", "--config", str(tiny_config_toml), "--out", str(tmp_path / "mine")],
             "not a distilled student")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
