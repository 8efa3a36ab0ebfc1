"""What each stage of ``compress run`` depends on: its config sections, the data files' bytes, the models' weights.

A stage's key hashes all of it (and the key of the stage before), so changing only ``[bench]`` reruns only the
benchmark, and editing the corpus file reruns everything.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.config import OWN_TEXT_KEYS, PASSAGE_KEYS, QUERY_KEYS, Config, TeacherRuntime
from compress.distill.teacher_runtime import config_runtime
from compress.gates import BENCH_GATE_KEYS
from compress.io import digest
from compress.models import resolve_model
from compress.preflight import check_input_file
from export.artifact.manifest import sha256_file

SKIP_DIRS = {"onnx", "openvino", ".git"}
WEIGHTS = {".safetensors", ".bin", ".onnx", ".pt"}


@dataclass(frozen=True)
class StageKeys:
    distill: str
    export: str
    bench: str


def file_sha(path: str | None, key: str) -> str | None:
    if not path:
        return None
    check_input_file(path, key)
    return sha256_file(Path(path))


@functools.lru_cache(maxsize=16)
def model_digest(spec: str) -> str:
    """Weights by content, other files by size; a hub id that is not local is identified by its name."""
    folder = Path(resolve_model(spec))
    if not folder.is_dir():
        return spec
    found: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or SKIP_DIRS & set(relative.parts[:-1]):
            continue
        found[str(relative)] = sha256_file(path) if path.suffix in WEIGHTS else path.stat().st_size
    return digest(found)


def distill_prefixes(config: Config) -> list[str]:
    """The prompts distillation puts before corpus sentences (none: the key of a teacher without prompts is as
    it was before prompts existed)."""
    from compress.distill.students.prompts import chosen
    from export.artifact.prompts import read_prompts

    return chosen(read_prompts(Path(resolve_model(config.teacher.model))), config.teacher.prompts)


def eval_set_digests(config: Config) -> dict[str, Any]:
    """The bytes of ``[bench]``'s STS files and retrieval folders (a changed set re-measures the benchmark)."""
    from compress.data.beir import CORPUS, QRELS, QUERIES

    bench = config.bench
    sts = {name: file_sha(path, f"bench.sts_sets.{name}") for name, path in bench.sts_sets.items()}
    retrieval = {name: [file_sha(str(Path(path) / f), f"bench.retrieval_sets.{name}") for f in (CORPUS, QUERIES, QRELS)]
                 for name, path in bench.retrieval_sets.items()}
    return {"sts": sts, "retrieval": retrieval}


def host() -> dict[str, Any]:
    from export.artifact.host import cpu_model, host_target

    # the int8 target too: two machines with the same CPU name can run different int8 files (AVX2 or AVX512-VNNI)
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(), "int8_target": host_target()}


def stage_keys(config: Config) -> StageKeys:
    c = config.key_dict()
    data = c["data"]
    sample = {"corpus": file_sha(data["corpus"], "data.corpus"),
              **{k: data[k] for k in ("column", "max_sentences", "validation_sentences", "seed")},
              **{k: data[k] for k in (*PASSAGE_KEYS, *QUERY_KEYS) if k in data},
              **{k: file_sha(data[k], f"data.{k}") for k in OWN_TEXT_KEYS if data.get(k)}}
    sts = {name: file_sha(data[name], f"data.{name}") for name in ("sts_dev", "sts_test")}
    sts_train = file_sha(data["sts_train"], "data.sts_train") if config.loss.weight("task") > 0 else None
    runtime = config_runtime(config)  # PyTorch, the original runtime, is left out: its keys stay as they were
    teacher = {**{k: v for k, v in c["teacher"].items() if k != "prompts"},
               "weights": model_digest(config.teacher.model),
               **({"prefixes": prefixes} if (prefixes := distill_prefixes(config)) else {}),
               **({"runtime": runtime.value} if runtime is not TeacherRuntime.TORCH else {})}
    distill = digest({"teacher": teacher, "sample": sample, "sts": sts, "sts_train": sts_train,
                      **{k: c[k] for k in ("student", "loss", "train")}})
    export = digest({"distill": distill, "export": c["export"], "sample": sample, "sts_dev": sts["sts_dev"]})
    measured = {k: v for k, v in c["bench"].items() if k not in BENCH_GATE_KEYS}  # gates are judged at assembly
    bench = digest({"export": export, "bench": measured, "teacher": teacher, "sample": sample,
                    "sts_test": sts["sts_test"], "host": host(), "sets": eval_set_digests(config)})
    return StageKeys(distill, export, bench)
