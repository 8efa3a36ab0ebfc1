from __future__ import annotations

from pathlib import Path

import pytest

from compress.config import Config, MatchKind, StudentKind, load_config, parse_override
from compress.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_defaults_are_valid(tmp_path: Path) -> None:
    config = load_config()  # no file: the embedded recipe
    assert config.teacher.model == "all-mpnet-base-v2"
    assert config.to_dict()["student"]["kind"] == "pretrained"
    assert load_config(write(tmp_path, "")) == Config()  # a file's omitted keys: the dataclass defaults


def test_file_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, '[student]\nkind = "pretrained"\nmatch = "pca"\n[train]\nepochs = 2\n')
    config = load_config(path, ["train.learning_rate=3e-5", "student.keep_layers=[0, 5]", "data.max_sentences=none"])
    assert config.student.kind is StudentKind.PRETRAINED
    assert config.student.match is MatchKind.PCA
    assert config.train.epochs == 2.0 and isinstance(config.train.epochs, float)
    assert config.train.learning_rate == 3e-5
    assert config.student.keep_layers == [0, 5]
    assert config.data.max_sentences is None


def test_override_plain_string_value() -> None:
    assert parse_override("teacher.model=my/model") == (["teacher", "model"], "my/model")


@pytest.mark.parametrize(("text", "needle"), [
    ("[student]\nnum_layer = 3\n", "unknown config key 'student.num_layer'"),
    ("[nope]\nx = 1\n", "unknown config key 'nope'"),
    ('[student]\nkind = "tiny"\n', "allowed values: pruned, pretrained"),
    ('[train]\nbatch_size = "big"\n', "'train.batch_size' must be an integer"),
    ("[train]\nepochs = 0\n", "'train.epochs' must be > 0"),
    # 0 is not "none" (write none for no limit): it is out of range
    ("[teacher]\nmax_seq_length = 0\n", "'teacher.max_seq_length' must be >= 1 or none"),
    ("[train]\nmax_seq_length = 0\n", "'train.max_seq_length' must be >= 1 or none"),
    ("[data]\nmax_sentences = 0\n", "'data.max_sentences' must be >= 2 or none"),
    ("[loss]\ntemperature_end = 0\n", "'loss.temperature_end' must be > 0 or none"),
    ("[loss]\nmse = 0\n", "all loss weights are 0"),
    ("[loss]\nmse = -1\n", "'loss.mse' must be >= 0"),
    ("[student]\nkeep_layers = [0, \"x\"]\n", "'student.keep_layers[1]' must be an integer"),
    ("student = 3\n", "must be a table"),
    ("[loss]\ntask = 1\n[data]\nsts_train = \"none\"\n", "'loss.task' needs 'data.sts_train'"),
    ("[bench]\nteacher = \"none\"\nmin_retention = 90\n", "'bench.min_retention' is a share of the teacher's"),
])
def test_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert needle in str(info.value)


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[train]\nepoch = 1\n"))
    assert info.value.hint is not None and "epochs" in info.value.hint


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[train\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="is not key=value"):
        load_config(None, ["train.epochs"])


CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.toml"))
# the full recipe embeds the whole corpus; the accurate tier keeps the 60,000-sentence sample it was measured on
SHARING = [p for p in CONFIGS if p.name not in ("full.toml", "accurate.toml")]


@pytest.mark.parametrize("path", SHARING, ids=lambda p: p.name)
def test_shipped_tiers_share_the_teacher_cache_and_write_their_own_folder(path: Path) -> None:
    recipe, tier = load_config(), load_config(path)
    assert tier.output.dir != recipe.output.dir and tier.output.cache_dir == recipe.output.cache_dir
    assert (tier.teacher, tier.data.corpus, tier.data.max_sentences, tier.data.validation_sentences,
            tier.data.seed) == (recipe.teacher, recipe.data.corpus, recipe.data.max_sentences,
                                recipe.data.validation_sentences, recipe.data.seed)
    assert tier.data.sts_dev == recipe.data.sts_dev and tier.data.sts_test == recipe.data.sts_test


def test_configs_are_found() -> None:
    assert {p.name for p in CONFIGS} >= {"fast.toml", "accurate.toml", "full.toml"}


def test_the_full_recipe_scales_the_default_up() -> None:
    recipe, full = load_config(), load_config(Path(__file__).parents[2] / "configs" / "full.toml")
    assert full.data.max_sentences is None and full.data.passages > 0 and full.train.epochs > recipe.train.epochs
    assert (full.teacher.model, full.teacher.max_seq_length, full.student) == (
        recipe.teacher.model, recipe.teacher.max_seq_length, recipe.student)
    assert full.output.dir != recipe.output.dir and full.output.cache_dir == recipe.output.cache_dir


def test_float16_teacher_cache_is_in_the_stage_keys_float32_is_not() -> None:
    from compress.config import CacheDtype, load_config

    plain = load_config(None, [])
    half = load_config(None, ["teacher.cache_dtype=float16"])
    assert half.teacher.cache_dtype is CacheDtype.FLOAT16
    assert "cache_dtype" not in plain.key_dict()["teacher"]  # the default recipe keeps its finished stages
    assert half.key_dict()["teacher"]["cache_dtype"] == "float16"
