"""The int8 targets, one row each: the one table that the config's ``Target`` enum, the quantization presets
(``export.presets``), the artifact layout's file choice, host detection (``export.artifact.host``), the model card and
the CLI's help read.

Adding a target: one ``TargetSpec`` row here. Rows are in host-detection order: an x86 host is the first row whose
CPU flags it has, an arm64 host the arm64 row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetSpec:
    name: str  # the config's value, and the suffix of its int8 files' names (export.artifact.layout)
    arch: str  # "x86" or "arm64": the machines it is for
    host_flags: tuple[str, ...]  # x86: a host with any of these CPU flags is of this target (arm64: the machine)
    runs: tuple[str, ...]  # the targets whose int8 files a host of this target runs, best first (itself first)
    weight_type: str  # the int8 weights: "QInt8" (u8 x s8 products) or "QUInt8" (u8 x u8)
    reduce_range: bool  # 7-bit weights (against saturating int16 sums)
    runs_on: str  # the model card's words: the machines and runtimes this file is for
    default: bool = True  # in export.targets by default


TARGET_TABLE: tuple[TargetSpec, ...] = (
    TargetSpec("avx512_vnni", "x86", ("avx512_vnni", "avx512vnni"), ("avx512_vnni", "avx512", "avx2"), "QInt8", False,
               "x86 with AVX512-VNNI (Intel Cascade Lake+, AMD Zen 4+)"),
    TargetSpec("avx512", "x86", ("avx512f",), ("avx512", "avx2"), "QInt8", True, "x86 with AVX512", default=False),
    TargetSpec("avx2", "x86", ("avx2",), ("avx2",), "QUInt8", False,
               "any x86-64 with AVX2; Node (onnxruntime-node), browsers (WebAssembly)"),
    TargetSpec("arm64", "arm64", (), ("arm64",), "QInt8", False,
               "arm64: Raspberry Pi 4/5, phones, Apple silicon, Graviton"),
)
TARGETS = tuple(spec.name for spec in TARGET_TABLE)
X86_TARGETS = tuple(spec.name for spec in TARGET_TABLE if spec.arch == "x86")
DEFAULT_TARGETS = tuple(spec.name for spec in TARGET_TABLE if spec.default)
TARGET_ORDER: dict[str, tuple[str, ...]] = {spec.name: spec.runs for spec in TARGET_TABLE}


def target_spec(name: str) -> TargetSpec:
    for spec in TARGET_TABLE:
        if spec.name == name:
            return spec
    raise KeyError(f"no int8 target named {name!r}; known: {', '.join(TARGETS)}")


def detect(machine: str, flags: set[str]) -> str | None:
    """The target of a host with this machine type and these CPU flags; None when none applies."""
    if machine.lower() in ("arm64", "aarch64"):
        return next((spec.name for spec in TARGET_TABLE if spec.arch == "arm64"), None)
    return next((spec.name for spec in TARGET_TABLE if spec.arch == "x86" and flags & set(spec.host_flags)), None)


def choices(*extra: str) -> str:
    """The targets as a help text lists them: ``avx512_vnni, avx512, avx2 or arm64``."""
    names = [*extra, *TARGETS]
    return ", ".join(names[:-1]) + " or " + names[-1]
