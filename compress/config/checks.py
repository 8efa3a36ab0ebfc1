"""Checks of a config's values that the types alone do not catch: ranges, cross-field rules, known names.

Everything here runs before any work starts (``load_config``); checks that need a model's config file (layer
counts) are in ``compress.preflight``. The loss and gate rules come from their registries (``compress.config.losses``,
``compress.gates``).
"""

from __future__ import annotations

from compress.config.losses import LOSSES, LossSpec
from compress.config.schema import (
    BenchConfig,
    Config,
    ExportConfig,
    MatchKind,
    OpenVinoMode,
    Precision,
    SelectBy,
    StudentKind,
    Target,
)
from compress.errors import ConfigError
from compress.gates import BENCH_GATE_KEYS, BENCH_GATES, GateNeeds, is_set
from compress.quant_targets import X86_TARGETS


def _range_checks(config: Config) -> list[tuple[bool, str, str]]:
    """(ok, key, what it must be) for every numeric key with a range."""
    t, tr, d, st, lo, ex, b = (config.teacher, config.train, config.data, config.student, config.loss,
                               config.export, config.bench)
    return [
        (tr.epochs > 0, "train.epochs", "must be > 0"),
        (tr.budget_minutes is None or tr.budget_minutes > 0, "train.budget_minutes", "must be > 0 minutes or none"),
        (tr.batch_size >= 2, "train.batch_size", "must be >= 2"),
        (tr.learning_rate > 0, "train.learning_rate", "must be > 0"),
        (0 <= tr.warmup_ratio < 1, "train.warmup_ratio", "must be in [0, 1)"),
        (tr.weight_decay >= 0, "train.weight_decay", "must be >= 0"),
        (tr.eval_steps >= 1, "train.eval_steps", "must be >= 1"),
        (tr.save_total_limit >= 1, "train.save_total_limit", "must be >= 1"),
        (tr.max_seq_length is None or tr.max_seq_length >= 1, "train.max_seq_length", "must be >= 1 or none"),
        (t.batch_size >= 1, "teacher.batch_size", "must be >= 1"),
        (t.chunk_size >= 1, "teacher.chunk_size", "must be >= 1"),
        (t.max_seq_length is None or t.max_seq_length >= 1, "teacher.max_seq_length", "must be >= 1 or none"),
        (st.num_layers >= 1, "student.num_layers", "must be >= 1"),
        (st.static_dims >= 2, "student.static_dims", "must be >= 2"),
        (st.ffn_size is None or st.ffn_size >= 1, "student.ffn_size", "must be >= 1 or none"),
        (d.validation_sentences >= 0, "data.validation_sentences", "must be >= 0"),
        (d.max_sentences is None or d.max_sentences >= 2, "data.max_sentences", "must be >= 2 or none"),
        (d.passages >= 0, "data.passages", "must be >= 0 (0: sentences only)"),
        (d.validation_passages >= 0, "data.validation_passages", "must be >= 0"),
        (d.passage_max_tokens >= 8, "data.passage_max_tokens", "must be >= 8"),
        (d.queries >= 0, "data.queries", "must be >= 0 (0: no query-shaped texts)"),
        (d.validation_queries >= 0, "data.validation_queries", "must be >= 0"),
        (lo.temperature > 0, "loss.temperature", "must be > 0"),
        (lo.temperature_end is None or lo.temperature_end > 0, "loss.temperature_end", "must be > 0 or none"),
        (lo.relation_heads >= 1, "loss.relation_heads", "must be >= 1"),
        (lo.token_layer is None or lo.token_layer >= 0, "loss.token_layer", "must be >= 0 (a teacher block) or none"),
        (0 < ex.min_retention <= 100, "export.min_retention", "must be in (0, 100] (percent)"),
        (0 < ex.min_cosine <= 1, "export.min_cosine", "must be in (0, 1]"),
        (0 < ex.parity_min_cosine <= 1, "export.parity_min_cosine", "must be in (0, 1]"),
        (ex.calibration_sentences >= 1, "export.calibration_sentences", "must be >= 1"),
        (ex.gate_sentences >= 1, "export.gate_sentences", "must be >= 1"),
        (7 <= ex.opset <= 23, "export.opset", "must be an ONNX opset in 7..23"),
        (ex.embedding_bits in (4, 8), "export.embedding_bits", "must be 8 (int8 table) or 4 (4-bit table)"),
        (ex.vocab_sentences >= 1, "export.vocab_sentences", "must be >= 1"),
        (0 < ex.invariance_min_cosine <= 1, "export.invariance_min_cosine", "must be in (0, 1]"),
        (b.latency_calls >= 1, "bench.latency_calls", "must be >= 1"),
        (b.heldback_sentences >= 1, "bench.heldback_sentences", "must be >= 1"),
        (b.warmup >= 0, "bench.warmup", "must be >= 0"),
        (b.throughput_batches >= 1, "bench.throughput_batches", "must be >= 1"),
        (b.throughput_seconds >= 0, "bench.throughput_seconds", "must be >= 0"),
    ]


def validate(config: Config) -> None:
    """Cross-field checks that the types alone do not catch."""
    for ok, key, what in _range_checks(config):
        if not ok:
            raise ConfigError(f"config key '{key}' {what}")
    export = config.export
    if not export.targets or len(set(export.targets)) != len(export.targets):
        raise ConfigError("config key 'export.targets' must list distinct targets",
                          "allowed values: " + ", ".join(t.value for t in Target))
    _validate_openvino(export)
    keep = config.student.keep_layers
    if keep is not None and (not keep or len(set(keep)) != len(keep) or min(keep) < 0):
        raise ConfigError(f"config key 'student.keep_layers' = {keep} must list distinct layer indices >= 0",
                          "e.g. keep_layers = [0, 1, 4, 5], or none for all layers (pruned: num_layers)")
    _validate_bench(config.bench)
    _validate_loss(config)
    _validate_passages(config)
    _validate_student_shape(config)
    teacher = config.teacher
    if teacher.runtime.on_onnxruntime and teacher.precision is Precision.BF16:
        raise ConfigError(f"config key 'teacher.runtime' = '{teacher.runtime.value}' runs the teacher on "
                          "onnxruntime, not in bf16, but 'teacher.precision' is 'bf16'",
                          "set teacher.precision to 'auto' or 'fp32', or teacher.runtime to 'torch' (bf16 autocast) "
                          "or 'auto'")
    names = config.teacher.prompts or []
    if any(n not in ("query", "document") for n in names) or len(set(names)) != len(names):
        raise ConfigError(f"config key 'teacher.prompts' = {names} must list distinct input types",
                          "use \"query\" and/or \"document\" (the teacher's prompts of those names), [] for none")


def _validate_student_shape(config: Config) -> None:
    """Keys that only one kind of student has."""
    student = config.student
    if student.ffn_size and student.kind is not StudentKind.PRUNED:
        raise ConfigError("config key 'student.ffn_size' prunes a pruned teacher's feed-forward neurons",
                          "set student.kind = \"pruned\", or student.ffn_size = none")
    if student.refit and (student.kind is StudentKind.PRUNED or student.match is MatchKind.PCA):
        raise ConfigError("config key 'student.refit' refits the projection of a pretrained or static student; this "
                          "student has none", "set student.match = \"projection\" with student.kind = \"pretrained\" "
                          "or \"static\", or student.refit = false")


def _validate_passages(config: Config) -> None:
    data = config.data
    words = data.passage_words
    if len(words) != 2 or not 1 <= words[0] <= words[1]:
        raise ConfigError(f"config key 'data.passage_words' = {words} must be [min, max] words with 1 <= min <= max",
                          "e.g. passage_words = [40, 180]")
    if data.validation_passages and not data.passages:
        raise ConfigError("config key 'data.validation_passages' needs data.passages > 0",
                          "set data.passages, or validation_passages = 0")
    if config.train.select_by is SelectBy.QUERY_COSINE and not data.validation_queries:
        raise ConfigError("config key 'train.select_by' = \"query_cosine\" needs held-back queries",
                          "set data.validation_queries (with data.queries or data.queries_file), or another select_by")
    if data.validation_queries and not data.queries and not data.queries_file:
        raise ConfigError("config key 'data.validation_queries' needs data.queries > 0 or data.queries_file",
                          "set data.queries, or validation_queries = 0")
    if (data.passages or data.documents_file) and config.student.kind is StudentKind.STATIC:
        key = "passages" if data.passages else "documents_file"
        raise ConfigError(f"config key 'data.{key}' is for transformer students: a static student averages token "
                          "vectors and has no length to learn",
                          f"set data.{key} = {0 if data.passages else 'none'} for student.kind = \"static\"")


def _validate_openvino(export: ExportConfig) -> None:
    """``export.openvino = "on"`` needs the extra, checked before any work starts."""
    if export.openvino != OpenVinoMode.ON:
        return
    from compress.extras import INSTALL, openvino_available

    if not openvino_available():
        raise ConfigError("config key 'export.openvino' = \"on\" but the OpenVINO runtime is not installed",
                          f"install it: {INSTALL}, or set export.openvino = \"auto\" (skipped when missing)")
    if not any(t.value in X86_TARGETS for t in export.targets):
        raise ConfigError("config key 'export.openvino' = \"on\" needs an x86 target in export.targets",
                          "add \"avx2\" or \"avx512_vnni\", or set export.openvino = \"off\"")


def _validate_loss(config: Config) -> None:
    loss = config.loss
    for name, weight in loss.weights.items():
        if weight < 0:
            raise ConfigError(f"config key 'loss.{name}' must be >= 0 (a weight)")
    if sum(loss.weights.values()) == 0:
        raise ConfigError("all loss weights are 0", "set at least one of loss.mse, loss.cosine, ... above 0")
    for spec in LOSSES:
        if loss.weight(spec.name) > 0 and (unmet := _unmet_need(spec, config)) is not None:
            raise ConfigError(f"config key 'loss.{spec.name}' {spec.unmet}{unmet}", spec.fix or None)
    if loss.token_layer is not None and loss.weight("tokens") == 0:
        raise ConfigError("config key 'loss.token_layer' chooses the teacher block for loss.tokens, which is 0",
                          "set loss.tokens above 0, or loss.token_layer = none")
    if loss.layer_map is not None and (not loss.layer_map or min(loss.layer_map) < 0):
        raise ConfigError(f"config key 'loss.layer_map' = {loss.layer_map} must list teacher layers >= 0")


def _unmet_need(spec: LossSpec, config: Config) -> str | None:
    """None when ``spec``'s needs are met, else what the config has instead (for the message)."""
    student = config.student
    if (spec.students is not None and student.kind not in spec.students) or (
            spec.match is not None and student.match is not spec.match):
        return f" (this student: kind {student.kind.value!r}, match {student.match.value!r})"
    if spec.data is not None and not getattr(config.data, spec.data):
        return ""
    return None


def _validate_profiles(bench: BenchConfig) -> None:
    from compress.profiles import PROFILES, Runtime

    known = [*PROFILES, *bench.custom_profiles]
    for name in bench.profiles:
        if name not in known:
            raise ConfigError(f"config key 'bench.profiles' names an unknown profile {name!r}",
                              "choose from: " + ", ".join(known) + " (or define it under [bench.custom_profiles])")
    for name, profile in bench.custom_profiles.items():
        if profile.threads is not None and profile.threads < 1:
            raise ConfigError(f"config key 'bench.custom_profiles.{name}.threads' must be >= 1 or none")
        if profile.cores is not None and (not profile.cores or min(profile.cores) < 0):
            raise ConfigError(f"config key 'bench.custom_profiles.{name}.cores' must list core numbers >= 0")
        runtimes = [r.value for r in Runtime]
        if profile.runtime not in runtimes:
            raise ConfigError(f"config key 'bench.custom_profiles.{name}.runtime' = {profile.runtime!r} is unknown",
                              "choose from: " + ", ".join(runtimes))
        if (profile.runtime == Runtime.QEMU) != bool(profile.cpu):
            raise ConfigError(f"config key 'bench.custom_profiles.{name}.cpu' names the emulated CPU of a qemu "
                              "profile, and only of one", "e.g. runtime = \"qemu\", cpu = \"cortex-a55\", "
                              "quant_target = \"arm64\"")


def _validate_bench(bench: BenchConfig) -> None:
    _validate_profiles(bench)
    for key in BENCH_GATE_KEYS:  # every gate's threshold is a positive number (per profile for max_p95_ms)
        value = getattr(bench, key)
        for name, number in (value.items() if isinstance(value, dict) else [(None, value)]):
            if number is not None and number <= 0:
                raise ConfigError(f"config key 'bench.{key}{'.' + name if name else ''}' must be > 0")
    if bench.head_to_head_rounds < 1 or bench.head_to_head_processes < 1:
        raise ConfigError("config keys 'bench.head_to_head_rounds' and 'bench.head_to_head_processes' must be >= 1")
    for key in (g.name for g in BENCH_GATES if g.needs is GateNeeds.AGAINST):
        value = getattr(bench, key)
        if value is not None and not bench.against:
            raise ConfigError(f"config key 'bench.{key}' is a ratio to another model, but 'bench.against' is not set",
                              "set bench.against to the label of the model to compare with (e.g. \"teacher\")")
    _validate_retrieval(bench)
    for gate in BENCH_GATES:  # the per-set ones are checked with the retrieval sets
        if gate.needs is GateNeeds.TEACHER and not gate.per_set and is_set(getattr(bench, gate.name)) \
                and not bench.teacher:
            raise ConfigError(f"config key 'bench.{gate.name}' is a share of the teacher's score ({gate.what}), but "
                              "'bench.teacher' is none", "name a teacher (bench.teacher, --teacher) or drop the gate "
                              f"(--set bench.{gate.name}=none)")


def _validate_retrieval(bench: BenchConfig) -> None:
    """Retrieval gates name configured sets (or "*"), and are shares of a teacher's score; the Pareto axis names
    a metric that is measured."""
    for key in (g.name for g in BENCH_GATES if g.per_set):
        limits = getattr(bench, key)
        if not limits:
            continue
        if not bench.teacher:
            raise ConfigError(f"config key 'bench.{key}' is a share of the teacher's nDCG@10, but 'bench.teacher' "
                              "is none", f"name a teacher (bench.teacher, --teacher) or drop the gate "
                              f"(--set bench.{key}={{}})")
        for name in limits:
            if name != "*" and name not in bench.retrieval_sets:
                raise ConfigError(f"config key 'bench.{key}.{name}' names no retrieval set",
                                  "use a name from bench.retrieval_sets ("
                                  + (", ".join(bench.retrieval_sets) or "none set") + ") or \"*\" for all")
        if not bench.retrieval_sets:
            raise ConfigError(f"config key 'bench.{key}' gates retrieval, but 'bench.retrieval_sets' is empty",
                              "add a BEIR folder under [bench.retrieval_sets], or drop the gate")
    axis = bench.pareto_accuracy
    sets = [f"{metric}:{name}" for metric in ("ndcg@10", "index") for name in bench.retrieval_sets]
    allowed = ["sts", *(["ndcg@10", "index"] if bench.retrieval_sets else []), *sets]
    if axis not in allowed:
        raise ConfigError(f"config key 'bench.pareto_accuracy' = {axis!r} is not measured",
                          "choose from: " + ", ".join(allowed))
    overlap = set(bench.sts_sets) & set(bench.retrieval_sets)
    if overlap:
        raise ConfigError(f"config keys 'bench.sts_sets' and 'bench.retrieval_sets' both name {sorted(overlap)}",
                          "give every evaluation set its own name")
