"""``compress bench``: model specs and profiles from the config, data from ``[data]``, outputs and gates."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from compress.bench.bench_report import write_outputs
from compress.bench.harness import BenchData, ModelSpec, length_groups, measure_native, recorded_settings
from compress.bench.paired import PairedSettings
from compress.bench.peers import peer_spec
from compress.bench.sets import eval_sets_settings, load_eval_sets, retrieval_data
from compress.bench.versus import check_reference, head_to_head
from compress.config import Config
from compress.data import load_sts, sentences_of
from compress.errors import ConfigError
from compress.profiles import Profile, Runtime, get_profile
from export.artifact.manifest import MANIFEST


def parse_model(text: str, teacher: bool = False) -> ModelSpec:
    """``label=path``, ``path``, or ``path:onnx/file.onnx``: one file of an artifact folder from compress export,
    or of a sentence-transformers folder (a file from its own ONNX export, run by its ONNX backend)."""
    label, _, rest = text.rpartition("=") if "=" in text else ("", "", text)
    path, _, file = rest.partition(":") if ":" in rest and not Path(rest).exists() else (rest, "", "")
    kind = "torch"
    _check_model_path(path, text)
    if (Path(path) / MANIFEST).exists():
        kind = "onnx"
    elif file:
        backend = "st-openvino" if file.endswith(".xml") else "st-onnx"
        kind = backend if (Path(path) / "modules.json").exists() else "onnx"
    return ModelSpec(label or Path(path).name + (f":{Path(file).stem}" if file else ""), kind, path,
                     file or None, teacher)


def openvino_variants(models: list[ModelSpec]) -> list[ModelSpec]:
    """Each of our artifacts that holds OpenVINO files, run on OpenVINO too (when the extra is installed): both
    runtimes on every profile, each profile's file (int8 on x86)."""
    from compress.extras import openvino_available
    from export.artifact.layout import OV_FP32

    if not openvino_available():
        return []
    return [replace(m, label=f"{m.label} (openvino)", runtime="openvino") for m in models
            if m.kind == "onnx" and m.file is None and (Path(m.path) / OV_FP32).is_file()]


def _check_model_path(path: str, text: str) -> None:
    """A path that is not there is refused before anything runs; a name that is not a path (a hub id such as
    ``org/model``, a packaged model name) is left to the loader."""
    from compress.models import looks_like_path, resolve_model

    if looks_like_path(path) and not Path(resolve_model(path)).exists():
        raise ConfigError(f"model {text!r}: {path} does not exist",
                          "name an existing folder (a sentence-transformers folder or an artifact), or a model id")


def check_profiles(config: Config, export_targets: list[str] | None = None) -> None:
    """Before any work: each edge profile's runtime is set up and, given the targets an export will write
    (``compress run``), the int8 file it runs will be there."""
    from compress.bench.edge.runtimes import require

    for profile in _profiles(config):
        if not profile.edge:
            continue
        require(profile.runtime, profile.name)
        target = profile.quant_target
        if export_targets is not None and target != "auto" and target not in export_targets:
            raise ConfigError(f"bench profile {profile.name!r} runs the {target} int8 file, but config key "
                              f"'export.targets' has no {target!r}", f"add \"{target}\" to export.targets, or drop "
                              f"{profile.name!r} from bench.profiles")


def _profiles(config: Config) -> list[Profile]:
    extra = {name: Profile(name, p.threads, tuple(p.cores) if p.cores else None, p.quant_target, p.arch,
                           Runtime(p.runtime), p.cpu, f"custom ({p.runtime}{', ' + p.cpu if p.cpu else ''})")
             for name, p in config.bench.custom_profiles.items()}
    return [get_profile(name, extra) for name in config.bench.profiles]


def _head_to_head(config: Config, entries: list[dict[str, Any]], models: list[ModelSpec],
                  profiles: list[Profile], sentences: list[str]) -> PairedSettings | None:
    bench = config.bench
    if not bench.against:
        return None
    settings = PairedSettings(rounds=bench.head_to_head_rounds, processes=bench.head_to_head_processes)
    with tempfile.TemporaryDirectory(prefix="st-compress-paired-") as tmp:
        head_to_head(entries, models, profiles, sentences, settings, bench.against, Path(tmp))
    return settings


def _sentences(config: Config) -> list[str]:
    """The config's held-back slice of the corpus sample (its first 1000 sentences when nothing is held back)."""
    corpus = sentences_of(config.data)
    return corpus.validation or corpus.train[:1000]


def run_bench_stage(config: Config, command: str, out_dir: Path | None = None,
                    subjects: list[str] | None = None, heldback: list[str] | None = None) -> dict[str, Any]:
    """Measure the teacher, ``subjects`` (model specs; the gates apply to them only) and ``bench.models`` on
    ``heldback`` sentences (the ones distillation held back; default: the config's held-back slice)."""
    bench = config.bench
    gated = [parse_model(m) for m in subjects or []]
    profiles = _profiles(config)
    native, edge = [p for p in profiles if not p.edge], [p for p in profiles if p.edge]
    models, on_edge = _models(config, gated, edge)
    if bench.against:
        check_reference(bench.against, models)
    sets = load_eval_sets(config)
    timing = heldback or _sentences(config)
    sts = load_sts(Path(config.data.sts_test)) if config.data.sts_test else None
    data = BenchData(timing, timing[:bench.heldback_sentences], sts, length_groups(timing), sets.sts,
                     retrieval_data(config, sets))
    entries, embeddings = measure_native(models, native, data, bench, config.output.progress)
    edge_entries = _edge(on_edge, edge, data, config, entries, embeddings)
    paired = _head_to_head(config, entries, models, native, timing)
    judged = gated if subjects else [m for m in models if not m.teacher and not m.peer]
    gates = bench.gate_settings(tuple(m.label for m in judged) if subjects or bench.peers else None)
    recorded = {**recorded_settings(bench),
                "profiles": {p.name: {"threads": p.threads, "cores": list(p.cores or []),
                                      "quant_target": p.quant_target, "runtime": p.runtime.value,
                                      **({"cpu": p.cpu} if p.cpu else {}),
                                      **({"device": p.device} if p.device else {})} for p in profiles},
                "head_to_head": {"against": bench.against, **asdict(paired)} if paired else None,
                "eval_sets": eval_sets_settings(config, sets), "pareto_accuracy": bench.pareto_accuracy}
    return write_outputs(out_dir or Path(bench.out_dir), entries, recorded, gates, command, edge_entries)


def _models(config: Config, gated: list[ModelSpec],
            edge: list[Profile]) -> tuple[list[ModelSpec], list[ModelSpec]]:
    """Every model to measure (the teacher, ``gated``, ``bench.models`` and their OpenVINO variants, then the
    peers) and those the edge profiles run: each edge profile is checked against them before a peer is exported
    (minutes, on first use)."""
    bench = config.bench
    teacher = f"teacher={config.teacher.model}" if bench.teacher == "auto" else bench.teacher
    listed = [parse_model(m) for m in bench.models]
    own = [*([parse_model(teacher, teacher=True)] if teacher else []), *gated, *listed,
           *openvino_variants(gated + listed)]
    if not own and not bench.peers:
        raise ConfigError("nothing to benchmark", "name models (compress bench MODEL ...) or set bench.models")
    on_edge = [m for m in own if m.runtime != "openvino"]  # edge profiles run their own runtimes, and no peer
    if edge:
        from compress.bench.edge.measure import check_edge

        check_edge(on_edge, edge)
    return [*own, *(peer_spec(name, Path(config.output.cache_dir)) for name in bench.peers)], on_edge


def _edge(models: list[ModelSpec], profiles: list[Profile], data: BenchData, config: Config,
          entries: list[dict[str, Any]], embeddings: dict[int, Any]) -> list[dict[str, Any]]:
    """The edge profiles (after the native ones, whose teacher numbers they are scored against)."""
    if not profiles:
        return []
    from compress.bench.edge.measure import Teacher, run_edge

    with tempfile.TemporaryDirectory(prefix="st-compress-edge-") as tmp:
        return run_edge(models, profiles, data, config.bench, Teacher.of(entries, embeddings), Path(tmp))
