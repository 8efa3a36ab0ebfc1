"""The config's closed choices, as string enums (``compress.config`` reads them from TOML)."""

from __future__ import annotations

from enum import StrEnum

from compress.quant_targets import TARGETS


class StudentKind(StrEnum):
    PRUNED = "pruned"
    PRETRAINED = "pretrained"
    STATIC = "static"  # Model2Vec token vectors distilled from the teacher, then fine-tuned


class Sampling(StrEnum):
    """How ``data.max_sentences`` are drawn from the corpus: ``random`` (seeded), or ``coverage``, greedily for the
    words they add to the sample (``compress.data.coverage``)."""

    RANDOM = "random"
    COVERAGE = "coverage"


class MatchKind(StrEnum):
    PROJECTION = "projection"
    PCA = "pca"


class SelectBy(StrEnum):
    """Which validation metric picks the best checkpoint."""

    COSINE = "cosine"
    MSE = "mse"
    STS_DEV = "sts_dev_spearman"
    QUERY_COSINE = "query_cosine"  # on the held-back query-shaped texts (data.validation_queries)


class Precision(StrEnum):
    """Compute precision: ``auto`` is bf16 autocast where the hardware runs it natively, else fp32."""

    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"


class TeacherRuntime(StrEnum):
    """What runs the teacher while it fills the embedding cache: ``auto`` is onnxruntime (fp32) on a CPU without
    native bf16, where it embeds about 1.5x faster than PyTorch fp32 at the same targets, else PyTorch.
    ``onnxruntime-int8``: the teacher's graph quantized (row-wise int8 for this CPU): faster, approximate targets."""

    AUTO = "auto"
    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"
    ONNXRUNTIME_INT8 = "onnxruntime-int8"

    @property
    def on_onnxruntime(self) -> bool:
        return self in (TeacherRuntime.ONNXRUNTIME, TeacherRuntime.ONNXRUNTIME_INT8)

    @property
    def exact(self) -> TeacherRuntime:
        """The runtime that gives the teacher's own (fp32) vectors: its scores are reported from it."""
        return TeacherRuntime.ONNXRUNTIME if self is TeacherRuntime.ONNXRUNTIME_INT8 else self


class CacheDtype(StrEnum):
    """How the teacher's embeddings are stored: float16 halves the cache (and its reads) for a rounding of ~1e-3."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"


class SearchKind(StrEnum):
    """Retrieval search (compress.bench.retrieval.search): exact numpy, or faiss HNSW; auto: exact below 2M docs."""

    AUTO = "auto"
    EXACT = "exact"
    HNSW = "hnsw"


class AttentionMode(StrEnum):
    AUTO = "auto"
    DISTRIBUTION = "distribution"
    RELATION = "relation"


# Quantization targets: one int8 file per target, one row each in compress.quant_targets.TARGET_TABLE (members
# AVX512_VNNI, AVX512, AVX2, ARM64; use Target("avx2") in code)
Target = StrEnum("Target", {name.upper(): name for name in TARGETS})  # type: ignore[misc]


class OpenVinoMode(StrEnum):
    """OpenVINO files in the artifact: ``auto`` when the extra is installed and an x86 target is asked for."""

    AUTO = "auto"
    ON = "on"  # required: exit 2 when the extra is missing
    OFF = "off"


class FloatWeights(StrEnum):
    """How an int8 file stores the weights its accuracy gate left in float (``export.float_weights``)."""

    FP16 = "fp16"  # fp16 behind a Cast that onnxruntime folds at load: smaller file, same kernels
    FP32 = "fp32"


class Calibration(StrEnum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"
