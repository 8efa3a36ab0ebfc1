"""The config's schema: one frozen dataclass per TOML section, with its defaults (the one owner of each key's
default; ``compress/defaults/default.toml`` is the recipe that sets them for every command)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from compress.config.losses import LOSS_WEIGHTS, LOSSES, default_weights, loss_spec
from compress.enums import (
    AttentionMode,
    CacheDtype,
    Calibration,
    FloatWeights,
    MatchKind,
    OpenVinoMode,
    Precision,
    Sampling,
    SearchKind,
    SelectBy,
    StudentKind,
    Target,
    TeacherRuntime,
)
from compress.gates import BENCH_GATE_KEYS, GateSettings, is_set
from compress.quant_targets import DEFAULT_TARGETS
from export.artifact.invariance import DEFAULT_FLOOR

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
    runtime: TeacherRuntime = TeacherRuntime.AUTO  # what runs the teacher's pass (compress.distill.teacher_runtime)
    # the teacher's prompts ("query", "document") put before corpus sentences, one per sentence in turn; none: every
    # prompt the teacher has (all-mpnet-base-v2 has none); []: no prompts
    prompts: list[str] | None = None


@dataclass(frozen=True)
class DataConfig:
    corpus: str = f"{DEFAULT_DATA}/corpus/sentences.txt.gz"
    column: str = "sentence"
    max_sentences: int | None = 30000
    sampling: Sampling = Sampling.RANDOM  # how max_sentences are drawn: "random" or "coverage" (for their words)
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
    # queries: query-shaped texts made from corpus sentences outside the sample by rules (compress.data.queries:
    # crops, keywords, questions; a coverage sample's from the sentences it would take next), embedded by the teacher
    # like sentences; validation_queries of them held back
    queries: int = 0
    validation_queries: int = 0
    # your own texts by kind, beside the corpus: a file of queries (all train, beside the made ones; validation_queries
    # are held back from them when none are made) and a file of documents (each split into passages of up to
    # passage_words[1] words, beside data.passages); .txt a text a line, .csv/.tsv/.jsonl their "text" column
    queries_file: str | None = None
    documents_file: str | None = None


PASSAGE_KEYS = ("passages", "validation_passages", "passage_words", "passage_max_tokens")
QUERY_KEYS = ("queries", "validation_queries")
OWN_TEXT_KEYS = ("queries_file", "documents_file")  # in the stage keys by their bytes, when set


@dataclass(frozen=True)
class StudentConfig:
    kind: StudentKind = StudentKind.PRUNED
    num_layers: int = 4  # pruned: teacher layers kept, spread evenly
    keep_layers: list[int] | None = None  # pruned: teacher layers; pretrained: the model's layers (default all)
    # pruned: feed-forward neurons each block keeps (of the teacher's), the most active on training sentences
    # (compress.distill.students.pruned.prune_ffn); none: all
    ffn_size: int | None = None
    model: str = "all-MiniLM-L6-v2"
    match: MatchKind = MatchKind.PROJECTION
    static_dims: int = 256  # static: PCA dimensions of the token vectors
    # projection: after training, solve it by least squares on every training text, kept when the held-back
    # cosine train.select_by judges by rises (compress.distill.students.refit)
    refit: bool = False


@dataclass(frozen=True)
class LossConfig:
    """``[loss]``: a weight per registered loss (``compress.config.losses``; written flat, ``mse = 1.0``) and the
    losses' settings."""

    weights: dict[str, float] = field(default_factory=default_weights, metadata={"inline": LOSS_WEIGHTS})
    temperature: float = 0.05
    temperature_end: float | None = None
    token_layer: int | None = None  # loss.tokens from this teacher block (0-based), to the student block as deep
    attention_mode: AttentionMode = AttentionMode.AUTO
    relation_heads: int = 12
    layer_map: list[int] | None = None

    def weight(self, name: str) -> float:
        """``loss.<name>``'s weight (a registered loss: ``compress.config.losses.LOSSES``)."""
        return self.weights.get(name, loss_spec(name).default)


def loss_config(**values: Any) -> LossConfig:
    """A ``LossConfig`` from keyword values, weights by their names: ``loss_config(mse=1, hidden=1, layer_map=[0])``
    (unset weights take their registered defaults)."""
    weights = default_weights()
    for name in [k for k in values if k in LOSS_WEIGHTS]:
        weights[name] = float(values.pop(name))
    return LossConfig(weights=weights, **values)


@dataclass(frozen=True)
class TrainConfig:
    epochs: float = 2.0
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
    budget_minutes: float | None = None  # size data.max_sentences and epochs to this machine (compress.distill.budget)


@dataclass(frozen=True)
class ExportConfig:
    targets: list[Target] = field(default_factory=lambda: [Target(name) for name in DEFAULT_TARGETS])
    optimize: bool = True
    # A row-wise int8 file per target (export.rowwise): activations scaled per token at run time, so a text's
    # vector does not depend on its batch (dynamic int8 scales each batch tensor as a whole, pads included); the
    # file serve runs. Measured on the default student: closer to fp32 than the dynamic and static files, and
    # faster than the static one.
    rowwise: bool = True
    # A static (QDQ) int8 file per target, calibrated on corpus sentences: fixed scales, batch-invariant too, for
    # runtimes that want QDQ graphs; slower and less accurate than the row-wise file on onnxruntime's CPU provider.
    static: bool = False
    invariance_min_cosine: float = DEFAULT_FLOOR  # batch 1 vs larger batches: the "batch_invariant" floor
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
    """A user-defined target profile (see compress.profiles for the presets)."""

    threads: int | None = None
    cores: list[int] | None = None
    quant_target: str = "auto"
    arch: str | None = None
    runtime: str = "native"  # or "qemu" (with cpu: a qemu-aarch64 -cpu model), "node", "browser"
    cpu: str | None = None


@dataclass(frozen=True)
class BenchConfig:
    models: list[str] = field(default_factory=list)  # "label=path" or "path[:onnx/file.onnx]"
    # models to compare with, exported as their users ship them (compress.bench.peers): never gated
    peers: list[str] = field(default_factory=list)
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
    # the plot's first panel (the other measured accuracies follow): "sts", "ndcg@10" (mean of the sets),
    # "ndcg@10:SET", "index" (queries on the teacher's index), "index:SET"
    pareto_accuracy: str = "sts"
    out_dir: str = "runs/bench"

    def gate_settings(self, models: tuple[str, ...] | None = None) -> GateSettings:
        """The bench gates' thresholds as set here (None: off), for ``models`` (None: every model but the
        teacher)."""
        values = {name: getattr(self, name) for name in BENCH_GATE_KEYS}
        return GateSettings({k: v if is_set(v) else None for k, v in values.items()}, models, self.against)


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
        plain: dict[str, Any] = _plain(dataclasses.asdict(self))
        return _flatten_inline(self, plain)

    def key_dict(self) -> dict[str, Any]:
        """``to_dict`` for cache and stage keys: settings that are off are left out (the passage keys without
        passages, the query keys without queries, a zero token weight), so a recipe that does not use them keeps
        the keys it had before they existed, and its finished stages and checkpoints."""
        plain = self.to_dict()
        if not self.data.passages and not self.data.documents_file:  # documents are split into passages too
            for key in PASSAGE_KEYS:
                plain["data"].pop(key)
        if self.data.sampling is Sampling.RANDOM:
            plain["data"].pop("sampling")
        if not self.data.queries and not self.data.queries_file:
            for key in QUERY_KEYS:
                plain["data"].pop(key)
        for key in OWN_TEXT_KEYS:
            if getattr(self.data, key) is None:
                plain["data"].pop(key)
        for spec in LOSSES:
            if not spec.keyed_when_off and not self.loss.weight(spec.name):
                plain["loss"].pop(spec.name)
        if self.train.budget_minutes is None:
            plain["train"].pop("budget_minutes")
        if self.student.ffn_size is None:
            plain["student"].pop("ffn_size")
        if not self.student.refit:
            plain["student"].pop("refit")
        if self.teacher.cache_dtype is CacheDtype.FLOAT32:
            plain["teacher"].pop("cache_dtype")
        plain["teacher"].pop("runtime")  # the resolved runtime is in the keys instead (distill.teacher_runtime)
        return plain


def _flatten_inline(section: Any, plain: dict[str, Any]) -> dict[str, Any]:
    """A field marked ``inline`` (the loss weights) is written as keys of its own section, as TOML spells it."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if f.metadata.get("inline"):
            plain = {**plain.pop(f.name), **plain}
        elif dataclasses.is_dataclass(value):
            plain[f.name] = _flatten_inline(value, plain[f.name])
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
