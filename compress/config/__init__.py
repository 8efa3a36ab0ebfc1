"""The config: its schema (``schema``: frozen dataclasses, one per TOML section, and their defaults), the loss
registry (``losses``), reading TOML and ``--set`` (``parse``), the checks that run before any work starts
(``checks``) and ``load_config`` (``load``), which does all of it."""

from compress.config.load import load_config, recipe_table
from compress.config.losses import LOSS_WEIGHTS, LOSSES, LossSpec
from compress.config.parse import apply_overrides, build_config, parse_override, read_toml
from compress.config.schema import (
    DEFAULT_DATA,
    OWN_TEXT_KEYS,
    PASSAGE_KEYS,
    QUERY_KEYS,
    AttentionMode,
    BenchConfig,
    CacheDtype,
    Calibration,
    Config,
    DataConfig,
    ExportConfig,
    FloatWeights,
    LossConfig,
    MatchKind,
    OpenVinoMode,
    OutputConfig,
    Precision,
    ProfileConfig,
    SearchKind,
    SelectBy,
    StudentConfig,
    StudentKind,
    Target,
    TeacherConfig,
    TeacherRuntime,
    TrainConfig,
    loss_config,
)

__all__ = ["DEFAULT_DATA", "LOSSES", "LOSS_WEIGHTS", "OWN_TEXT_KEYS", "PASSAGE_KEYS", "QUERY_KEYS", "AttentionMode",
           "BenchConfig", "CacheDtype", "Calibration", "Config", "DataConfig", "ExportConfig", "FloatWeights",
           "LossConfig", "LossSpec", "MatchKind", "OpenVinoMode", "OutputConfig", "Precision", "ProfileConfig",
           "SearchKind", "SelectBy", "StudentConfig", "StudentKind", "Target", "TeacherConfig", "TeacherRuntime",
           "TrainConfig", "apply_overrides", "build_config", "load_config", "loss_config", "parse_override",
           "read_toml", "recipe_table"]
