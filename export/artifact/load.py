"""Open an artifact for encoding: check its manifest, choose the file for the target, start the encoder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compress.errors import CompressError
from export.artifact.encoder import OnnxEncoder
from export.artifact.host import host_target
from export.artifact.layout import TARGETS, choose_file, max_length_of
from export.artifact.manifest import read_manifest, verify

TARGET_CHOICES = ("auto", "fp32", *TARGETS)


def file_for(folder: Path, target: str = "auto") -> str:
    """The file to run: ``auto`` picks the best int8 file this host runs (else fp32), ``fp32`` the optimized or
    plain fp32 graph, a target name exactly its int8 file."""
    if target not in TARGET_CHOICES:
        raise CompressError(f"unknown target {target!r}", "choose one of: " + ", ".join(TARGET_CHOICES))
    if target == "auto":
        return choose_file(folder, host_target())
    if target == "fp32":
        return choose_file(folder, None)
    return choose_file(folder, target, exact=True)


def open_file(folder: Path, file: str, threads: int | None = None, fallback: int | None = None) -> OnnxEncoder:
    """An encoder for one ONNX file of the artifact (threads: ``encoder.intra_op_threads``)."""
    return OnnxEncoder(folder / file, folder, max_length_of(folder), threads, fallback)


@dataclass(frozen=True)
class Loaded:
    folder: Path
    file: str
    encoder: OnnxEncoder


def load_artifact(folder: Path, target: str = "auto", threads: int | None = None, fallback: int | None = None,
                  verify_checksums: bool = True) -> Loaded:
    """Refuse a damaged or tampered artifact, then open the file for ``target``."""
    read_manifest(folder)
    if verify_checksums and (bad := verify(folder)):
        raise CompressError(f"{folder}: checksum mismatch in {', '.join(bad)}; refusing to load",
                            "restore the artifact from its source, or re-export it")
    file = file_for(folder, target)
    return Loaded(folder, file, open_file(folder, file, threads, fallback))
