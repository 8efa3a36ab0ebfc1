"""The distillation config: frozen dataclasses read from TOML, validated before any work starts."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from compress.enums import (
    AttentionMode,
    CacheDtype,
    Calibration,
    FloatWeights,
    MatchKind,
    OpenVinoMode,
    Precision,
    SearchKind,
    SelectBy,
    StudentKind,
    Target,
    TeacherRuntime,
)
from compress.errors import ConfigError

DEFAULT_DATA = "../shared/data"


@dataclass(frozen=True)
class TeacherConfig:
    model: str = "all-mpnet-base-v2"
    max_seq_length: int | None = 128
    batch_size: int = 32
    chunk_size: int = 1024
    trust_remote_code: bool = False
    precision: Precision = Precision.AUTO  # of the teacher's forward pass while filling the embedding cache
    cache_dtype: CacheDtype = CacheDtype.FLOAT32  # of the cached embeddings on disk
    runtime: TeacherRuntime = TeacherRuntime.AUTO  # what runs the teacher's pass (compress.teacher_onnx)
    # the teacher's prompts ("query", "document") put before corpus sentences, one per sentence in turn; none: every
    # prompt the teacher has (all-mpnet-base-v2 has none); []: no prompts
    prompts: list[str] | None = None


@dataclass(frozen=True)
class DataConfig:
    corpus: str = f"{DEFAULT_DATA}/corpus/sentences.txt.gz"
    column: str = "sentence"
    max_sentences: int | None = 60000
    validation_sentences: int = 1000
    sts_train: str | None = f"{DEFAULT_DATA}/stsb/train.csv"
    sts_dev: str | None = f"{DEFAULT_DATA}/stsb/dev.csv"
    sts_test: str | None = f"{DEFAULT_DATA}/stsb/test.csv"
    seed: int = 42
    # passages: corpus sentences outside the sample joined into longer texts (compress.data.passages), embedded by
    # the teacher at up to passage_max_tokens; validation_passages of them are held back (their cosine is reported)
    passages: int = 0
    validation_passages: int = 0
    passage_words: list[int] = field(default_factory=lambda: [40, 180])  # [min, max] words per passage
    passage_max_tokens: int = 256


LOSS_WEIGHTS = ("mse", "cosine", "similarity", "task", "hidden", "attention", "tokens", "keep")  # LossConfig's weights
PASSAGE_KEYS = ("passages", "validation_passages", "passage_words", "passage_max_tokens")


@dataclass(frozen=True)
class StudentConfig:
    kind: StudentKind = StudentKind.PRUNED
    num_layers: int = 4  # pruned: teacher layers kept, spread evenly
    keep_layers: list[int] | None = None  # pruned: teacher layers; pretrained: the model's layers (default all)
    model: str = "all-MiniLM-L6-v2"
    match: MatchKind = MatchKind.PROJECTION
    static_dims: int = 256  # static: PCA dimensions of the token vectors


@dataclass(frozen=True)
class LossConfig:
    mse: float = 1.0
    cosine: float = 0.0
    similarity: float = 0.0
    temperature: float = 0.05
    temperature_end: float | None = None
    task: float = 0.0
    hidden: float = 0.0
    attention: float = 0.0
    tokens: float = 0.0  # the teacher's cached final token states, position by position (compress.losses.tokens)
    token_layer: int | None = None  # loss.tokens from this teacher block (0-based), to the student block as deep
    keep: float = 0.0  # a pretrained student's own in-batch similarities, held while it learns (compress.losses.keep)
    attention_mode: AttentionMode = AttentionMode.AUTO
    relation_heads: int = 12
    layer_map: list[int] | None = None


@dataclass(frozen=True)
class TrainConfig:
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    eval_steps: int = 750
    save_total_limit: int = 2
    select_by: SelectBy = SelectBy.COSINE
    max_seq_length: int | None = None
    seed: int = 42
    device: str | None = None
    precision: Precision = Precision.AUTO  # bf16 autocast (weights stay fp32) where native
    group_by_length: bool = True  # batches of similar-length sentences: less padding, same result quality
    budget_minutes: float | None = None  # size data.max_sentences and epochs to this machine (compress.budget)


@dataclass(frozen=True)
class ExportConfig:
    targets: list[Target] = field(default_factory=lambda: [Target.AVX512_VNNI, Target.AVX2, Target.ARM64])
    optimize: bool = True
    # A static (QDQ) int8 file per target, calibrated on corpus sentences: fixed activation scales, so a text's
    # vector does not depend on its batch (dynamic int8 scales each batch tensor as a whole, pads included).
    static: bool = True
    invariance_min_cosine: float = 0.9999  # batch 1 vs larger batches: the "batch_invariant" floor
    openvino: OpenVinoMode = OpenVinoMode.AUTO  # OpenVINO IR fp32 + NNCF int8 beside the ONNX files (x86)
    calibration_sentences: int = 256
    calibration_method: Calibration = Calibration.MINMAX
    min_retention: float = 99.7  # percent of the fp32 model's STS dev Spearman each int8 file must keep
    # Mean cosine to the fp32 model on held-back sentences each int8 file must reach: a floor against broken
    # quantization. Dynamic int8 all-mpnet-base-v2 measured 0.86-0.88 here at 100% STS dev retention.
    min_cosine: float = 0.85
    parity_min_cosine: float = 0.99999
    gate_sentences: int = 256
    opset: int = 17
    ort_format: bool = True  # an ORT-format copy of each int8 file and the operator list for a minimal build
    prune_vocab: bool = False  # keep the tokens vocab_sentences corpus sentences use (+ specials, characters)
    vocab_sentences: int = 400_000
    embedding_bits: int = 8  # 4: the int8 files' word-embedding table in 4 bits (GatherBlockQuantized)
    # the weights an int8 file keeps in float (left out of int8 by the gate): fp16, cast to fp32 at load
    float_weights: FloatWeights = FloatWeights.FP16


@dataclass(frozen=True)
class ProfileConfig:
    """A user-defined target profile (see compress.bench.profiles for the presets)."""

    threads: int | None = None
    cores: list[int] | None = None
    quant_target: str = "auto"
    arch: str | None = None
    runtime: str = "native"  # or "qemu" (with cpu: a qemu-aarch64 -cpu model), "node", "browser"
    cpu: str | None = None


@dataclass(frozen=True)
class BenchConfig:
    models: list[str] = field(default_factory=list)  # "label=path" or "path[:onnx/file.onnx]"
    teacher: str | None = "auto"  # "auto": the [teacher] model; "label=path"; none to skip
    profiles: list[str] = field(default_factory=lambda: ["x86-server", "edge-1core"])
    custom_profiles: dict[str, ProfileConfig] = field(default_factory=dict)
    latency_calls: int = 300
    warmup: int = 50
    throughput_batches: int = 4  # at least; more until throughput_seconds have passed
    throughput_seconds: float = 1.0  # a fast model's few batches take milliseconds: too short to time
    heldback_sentences: int = 256
    min_retention: float | None = None
    max_p95_ms: dict[str, float] = field(default_factory=dict)  # per profile; "*" for all
    max_size_mb: float | None = None
    # head-to-head (compress.bench.paired): every model against this label, in one process, interleaved rounds
    against: str | None = None
    head_to_head_rounds: int = 20  # per process
    head_to_head_processes: int = 3
    max_latency_ratio: float | None = None  # gate: median batch-1 p50 / the `against` model's
    min_throughput_ratio: float | None = None  # gate: median batch-32 throughput / the `against` model's
    # evaluation sets beside data.sts_test, by name: STS pair CSVs, and retrieval sets (BEIR folders)
    sts_sets: dict[str, str] = field(default_factory=dict)
    retrieval_sets: dict[str, str] = field(default_factory=dict)
    retrieval_search: SearchKind = SearchKind.AUTO
    # gates, per retrieval set ("*" for all): nDCG@10 student->student (index: student queries -> teacher
    # documents), % of teacher->teacher
    min_retrieval_retention: dict[str, float] = field(default_factory=dict)
    min_index_retention: dict[str, float] = field(default_factory=dict)
    pareto_accuracy: str = "sts"  # the plot's accuracy axis: "sts", "ndcg@10" (mean of the sets), "ndcg@10:SET"
    out_dir: str = "runs/bench"


@dataclass(frozen=True)
class OutputConfig:
    dir: str = "runs/release"  # the release folder of compress run
    cache_dir: str = ".cache/st-compress"
    progress: bool = True


@dataclass(frozen=True)
class Config:
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    data: DataConfig = field(default_factory=DataConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def key_dict(self) -> dict[str, Any]:
        """``to_dict`` for cache and stage keys: settings that are off are left out (the passage keys without
        passages, a zero token weight), so a recipe that does not use them keeps the keys it had before they
        existed, and its finished stages and checkpoints."""
        plain = self.to_dict()
        if not self.data.passages:
            for key in PASSAGE_KEYS:
                plain["data"].pop(key)
        for weight in ("tokens", "keep"):
            if not getattr(self.loss, weight):
                plain["loss"].pop(weight)
        if self.train.budget_minutes is None:
            plain["train"].pop("budget_minutes")
        if self.teacher.cache_dtype is CacheDtype.FLOAT32:
            plain["teacher"].pop("cache_dtype")
        plain["teacher"].pop("runtime")  # the resolved runtime is in the keys instead (compress.teacher_onnx)
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _describe(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (enums) or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is dict:
        _, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a table of {_describe(value_type)}, got {value!r}")
        if dataclasses.is_dataclass(value_type):
            return {k: _build(value_type, v if isinstance(v, dict) else {}, f"{key}.{k}.")  # type: ignore[arg-type]
                    for k, v in value.items()}
        return {k: _coerce(v, value_type, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key '{key}' must be a list of {_describe(item)}, got {value!r}")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            raise ConfigError(
                f"config key '{key}' has value {value!r}; allowed values: {', '.join(m.value for m in tp)}"
            ) from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{key}' must be a finite number, got {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"config key '{key}' must be an integer, got {value!r}")
    if not isinstance(value, tp):
        raise ConfigError(f"config key '{key}' must be a {_describe(tp)}, got {value!r}")
    return value


def _build(cls: type, table: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if key not in hints:
            raise ConfigError(f"unknown config key '{full}'", f"allowed keys here: {', '.join(names)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{full}' must be a table [{full}]")
            kwargs[key] = _build(tp, value, f"{full}.")  # type: ignore[arg-type]
        else:
            kwargs[key] = _coerce(value, tp, full)
    return cls(**kwargs)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``section.key=value``; the value is read as TOML, else taken as a plain string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r} is not key=value", "write e.g. --set train.epochs=2")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(table: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = table
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: '{part}' is not a section")
        node[path[-1]] = value
    return table


def read_toml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory", "pass a TOML file to --config (compress init writes "
                          "one)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "pass an existing TOML file to --config") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def recipe_table() -> dict[str, Any]:
    """The embedded default recipe (``compress/defaults/default.toml``) as a TOML table."""
    from compress.defaults import default_config_text

    return tomllib.loads(default_config_text())


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> Config:
    """``path`` (TOML; a key it omits takes the dataclass default), else the embedded default recipe: every
    command without ``--config`` runs the same recipe as ``compress run``."""
    table = read_toml(path) if path is not None else recipe_table()
    table = apply_overrides(table, overrides or [])
    config: Config = _build(Config, table, "")
    from compress.config_checks import validate

    validate(config)
    return config
