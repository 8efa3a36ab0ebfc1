"""Open an artifact for encoding: check its manifest, choose the runtime and the file for the target, start the
encoder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.quant_targets import TARGETS
from export.artifact.encoder import OnnxEncoder, TextEncoder
from export.artifact.host import host_isa, host_target
from export.artifact.layout import Runtime, choose_file, max_length_of, runtime_of
from export.artifact.manifest import batch_invariant, find_manifest, invariance_floor, read_manifest, verify

log = logging.getLogger(__name__)

TARGET_CHOICES = ("auto", "fp32", *TARGETS)
RUNTIME_CHOICES = tuple(r.value for r in Runtime)


def file_for(folder: Path, target: str = "auto", runtime: str = Runtime.ONNXRUNTIME) -> str:
    """The file to run: ``auto`` picks the best int8 file this host runs (else fp32), ``fp32`` the optimized or
    plain fp32 graph, a target name exactly its int8 file; on ``runtime`` (not ``auto``: see ``resolve_runtime``)."""
    if target not in TARGET_CHOICES:
        raise CompressError(f"unknown target {target!r}", "choose one of: " + ", ".join(TARGET_CHOICES))
    if target == "auto":
        return choose_file(folder, host_target(), runtime=runtime)
    if target == "fp32":
        return choose_file(folder, None, runtime=runtime)
    return choose_file(folder, target, exact=True, runtime=runtime)


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Runtime
    reason: str


def resolve_runtime(folder: Path, runtime: str = Runtime.AUTO, manifest: dict[str, Any] | None = None) -> RuntimeChoice:
    """``auto``: the runtime the artifact's export measured fastest (``runtime_benchmark`` in its manifest, read
    from ``folder`` unless given) at passing accuracy on a host with this ISA, else onnxruntime; a named runtime as
    it is (OpenVINO: installed)."""
    if runtime not in RUNTIME_CHOICES:
        raise CompressError(f"unknown runtime {runtime!r}", "choose one of: " + ", ".join(RUNTIME_CHOICES))
    if runtime == Runtime.OPENVINO:
        from compress.extras import openvino_module

        openvino_module()
        return RuntimeChoice(Runtime.OPENVINO, "asked for")
    if runtime == Runtime.ONNXRUNTIME:
        return RuntimeChoice(Runtime.ONNXRUNTIME, "asked for")
    found = manifest if manifest is not None else find_manifest(folder)
    measured: dict[str, Any] = (found or {}).get("runtime_benchmark") or {}
    if not measured.get("fastest"):
        return RuntimeChoice(Runtime.ONNXRUNTIME, "the artifact has no runtime benchmark (no OpenVINO files)")
    if measured.get("isa") != host_isa():
        return RuntimeChoice(Runtime.ONNXRUNTIME, f"the artifact's runtimes were measured on {measured.get('isa')}, "
                                                  f"this host is {host_isa()}")
    fastest = Runtime(measured["fastest"])
    if fastest == Runtime.OPENVINO:
        from compress.extras import openvino_available

        if not openvino_available():
            return RuntimeChoice(Runtime.ONNXRUNTIME, "OpenVINO measured fastest here but is not installed "
                                                      "(pip install 'st-compress[openvino]')")
    return RuntimeChoice(fastest, f"measured fastest on {measured['isa']} at export ({measured.get('summary', '')})")


def open_file(folder: Path, file: str, threads: int | None = None, fallback: int | None = None,
              spin: bool = True) -> TextEncoder:
    """An encoder for one model file of the artifact (ONNX or OpenVINO IR by its suffix; threads:
    ``encoder.intra_op_threads``; ``spin``: onnxruntime's, ``encoder.session_options``)."""
    if runtime_of(file) == Runtime.OPENVINO:
        from export.artifact.ov_encoder import OpenVinoEncoder

        return OpenVinoEncoder(folder / file, folder, max_length_of(folder), threads, fallback)
    return OnnxEncoder(folder / file, folder, max_length_of(folder), threads, fallback, spin)


@dataclass(frozen=True)
class Loaded:
    folder: Path
    file: str
    encoder: TextEncoder
    runtime: RuntimeChoice
    # the manifest's measurement for ``file`` on this host's instruction set: the same vector in any batch;
    # None where it holds none from such a CPU
    batch_invariant: bool | None
    invariance_floor: float  # the min cosine that measurement was judged by


def load_artifact(folder: Path, target: str = "auto", threads: int | None = None, fallback: int | None = None,
                  verify_checksums: bool = True, runtime: str = Runtime.AUTO, file: str | None = None,
                  spin: bool = True) -> Loaded:
    """Refuse a damaged or tampered artifact, then open the file for ``target`` on ``runtime`` (``file``: that
    file of the artifact instead, on the runtime its suffix names)."""
    manifest = read_manifest(folder)
    if verify_checksums and (bad := verify(folder)):
        raise CompressError(f"{folder}: checksum mismatch in {', '.join(bad)}; refusing to load",
                            "restore the artifact from its source, or re-export it")
    if file is not None:
        if not (folder / file).is_file():
            raise CompressError(f"{folder} has no file {file}", "name a model file the artifact holds")
        choice = RuntimeChoice(runtime_of(file), f"the file {file} was named")
    else:
        choice = resolve_runtime(folder, runtime, manifest)
        file = file_for(folder, target, choice.runtime)
        log.info("runtime %s (%s): %s", choice.runtime.value, choice.reason, file)
    return Loaded(folder, file, open_file(folder, file, threads, fallback, spin), choice,
                  batch_invariant(manifest, file), invariance_floor(manifest))
