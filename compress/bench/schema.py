"""The JSON schema of bench.json (version 2: retrieval, index compatibility, more STS sets): what a release
pipeline may rely on."""

from __future__ import annotations

from typing import Any

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_PERCENTILES = {"type": "object", "required": ["p50_ms", "p90_ms", "p95_ms", "p99_ms"],
                "properties": {k: {"type": "number"} for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms")}}

_SPREAD = {"type": "object", "required": ["median", "q1", "q3"],
           "properties": {k: {"type": "number"} for k in ("median", "q1", "q3")}}
HEAD_TO_HEAD: dict[str, Any] = {
    "type": "object", "required": ["against", "batch", "processes", "rounds"],
    "properties": {"against": {"type": "string"}, "error": {"type": "string"},
                   "b1_p50_ms": {"type": "number"}, "throughput": {"type": "number"},
                   "latency_ratio": _SPREAD, "throughput_ratio": _SPREAD},
    "oneOf": [{"required": ["error"]}, {"required": ["latency_ratio", "throughput_ratio", "b1_p50_ms", "throughput"]}],
}

_METRIC = {"type": "number", "minimum": 0, "maximum": 100}
_RANKING = {"ndcg@10": _METRIC, "recall@100": _METRIC, "mrr@10": _METRIC}
RETRIEVAL: dict[str, Any] = {  # per set: the model's queries against its own documents
    "type": "object", "additionalProperties": {
        "type": "object", "required": ["ndcg@10", "recall@100", "mrr@10", "search"],
        "properties": {**_RANKING, "search": {"enum": ["exact", "hnsw"]}, "retention_percent": _NUMBER_OR_NULL}}}
INDEX: dict[str, Any] = {  # per set: the student's queries against the teacher's documents
    "type": "object", "additionalProperties": {
        "type": "object",
        "properties": {**_RANKING, "search": {"enum": ["exact", "hnsw"]}, "retention_percent": _NUMBER_OR_NULL,
                       "doc_cosine": {"type": "number"}, "query_cosine": {"type": "number"},
                       "error": {"type": "string"}},
        "oneOf": [{"required": ["error"]},
                  {"required": ["ndcg@10", "recall@100", "mrr@10", "retention_percent", "doc_cosine",
                                "query_cosine"]}]}}
STS_SETS: dict[str, Any] = {"type": "object", "additionalProperties": {
    "type": "object", "required": ["spearman"],
    "properties": {"spearman": {"type": "number"}, "retention_percent": {"type": "number"}}}}

ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "kind", "profile", "status"],
    "properties": {
        "model": {"type": "string"}, "profile": {"type": "string"},
        "kind": {"enum": ["torch", "onnx", "st-onnx", "st-openvino", "model2vec"]},
        "status": {"type": "string"}, "threads": {"type": ["integer", "null"]}, "peer": {"type": "boolean"},
        "cores": {"type": "array", "items": {"type": "integer"}}, "file": {"type": ["string", "null"]},
        "size_mb": {"type": "number"}, "cold_start_s": {"type": "number"}, "peak_rss_mb": {"type": "number"},
        "latency_batch1": {"type": "object", "required": ["calls", "total", "tokenize", "inference"],
                           "properties": {"calls": {"type": "integer"}, "total": _PERCENTILES,
                                          "tokenize": _PERCENTILES, "inference": _PERCENTILES}},
        "throughput": {"type": "object", "additionalProperties": {"type": "number"}},
        "length_profile": {"type": "object", "additionalProperties": {"type": "number"}},
        "sts_spearman": _NUMBER_OR_NULL, "retention_percent": _NUMBER_OR_NULL,
        "cosine": {"type": "object", "required": ["against", "mean", "p5"]},
        "accuracy_from": {"type": "string"},  # the profile whose run of the same file measured the scores
        "head_to_head": HEAD_TO_HEAD,  # bench.against: ratios to that model from interleaved rounds
        "sts_sets": STS_SETS, "retrieval": RETRIEVAL, "index": INDEX,
        # seconds this run spent embedding each retrieval side that was not cached yet ("cacm documents": 81.2)
        "retrieval_encode_s": {"type": "object", "additionalProperties": {"type": "number"}},
        "runtime": {"type": "string"},  # onnxruntime | openvino | torch | numpy (model2vec)
        "throughput_sorted": {"type": "object", "additionalProperties": {"type": "number"}},  # length-sorted batches
        "batch_invariance": {"type": "object", "required": ["min_cosine", "mean_cosine", "texts", "batch"]},
        "as_users_call": {"type": "object", "required": ["call", "texts", "per_s"]},  # the library's own encode
    },
    "if": {"properties": {"status": {"const": "ok"}}},
    "then": {"required": ["latency_batch1", "throughput", "cold_start_s", "peak_rss_mb", "size_mb"]},
}

_AGREEMENT = {"type": "object", "required": ["texts", "max_abs_diff", "min_cosine", "mean_cosine"],
              "properties": {k: {"type": "number"} for k in ("max_abs_diff", "min_cosine", "mean_cosine", "sts_delta")}}
_EDGE_TIMING = {"type": "object", "required": ["emulated", "latency_batch1", "throughput"],
                "properties": {"emulated": {"type": "boolean"}, "latency_batch1": {"type": "object"},
                               "throughput": {"type": "object", "additionalProperties": {"type": "number"}}}}
EDGE_ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "profile", "runtime_kind", "status"],
    "properties": {
        "model": {"type": "string"}, "profile": {"type": "string"}, "device": {"type": ["string", "null"]},
        "runtime_kind": {"enum": ["qemu", "node", "browser"]}, "runtime": {"type": "string"},
        "status": {"type": "string"}, "error": {"type": "string"}, "file": {"type": "string"},
        "size_mb": {"type": "number"},
        "reference": {"type": "object", "required": ["runtime", "sts_spearman"]},
        "modes": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["sts_spearman", "agreement", "timing"],
            "properties": {"sts_spearman": _NUMBER_OR_NULL, "retention_percent": _NUMBER_OR_NULL,
                           "agreement": _AGREEMENT, "timing": _EDGE_TIMING,
                           "cosine": {"type": "object", "required": ["against", "mean", "p5"]}}}},
    },
    "if": {"properties": {"status": {"const": "ok"}}},
    "then": {"required": ["runtime", "file", "reference", "modes"]},
}

BENCH_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "command", "machine", "settings", "results", "gates"],
    "properties": {
        "schema": {"const": "st-compress/bench/2"},
        "command": {"type": "string"},
        "machine": {"type": "object", "required": ["cpu", "cores", "isa_flags", "host_target", "versions"]},
        "settings": {"type": "object", "required": ["latency_calls", "batch_sizes", "profiles"]},
        "results": {"type": "array", "items": ENTRY},
        "edge": {"type": "array", "items": EDGE_ENTRY},  # edge profiles (compress.bench.edge), apart from results
        "gates": {"type": "object", "required": ["failed", "passed"],
                  "properties": {"failed": {"type": "array", "items": {"type": "string"}},
                                 "passed": {"type": "boolean"}}},
    },
}
