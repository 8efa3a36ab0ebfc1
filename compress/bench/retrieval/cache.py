"""Query and document embeddings on disk, one ``.npy`` per (model file, text side, prompt), reused across
profiles and reruns: ``<cache_dir>/embeddings/<key>.npy``. The key hashes the bytes of every file of the model
that shapes its output (for an artifact file: that ONNX file, its tokenizer and configs; never the other files),
the texts with their ids, and the prompt; so a changed file or collection is embedded again, and nothing else is.

A model named by an id that is not a local folder (a hub id) has no bytes to hash here: its embeddings are
computed each run, into a scratch folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from compress.config import Precision
from compress.data.beir import RetrievalSet
from export.artifact.prompts import InputType, Prompts

SKIPPED = ("README.md", "manifest.json", "distill_report.json")  # say what a model is, do not shape its output
SIDES = {InputType.QUERY: "queries", InputType.DOCUMENT: "docs"}


@dataclass(frozen=True)
class Encoded:
    """Where one model file's embeddings of one retrieval set are (or will be)."""

    queries: Path
    docs: Path

    def missing(self) -> list[tuple[InputType, Path]]:
        return [(side, path) for side, path in ((InputType.QUERY, self.queries), (InputType.DOCUMENT, self.docs))
                if not path.exists()]

    def of(self, side: InputType) -> Path:
        return self.queries if side is InputType.QUERY else self.docs


def _shapes_output(item: Path, folder: Path, file: str | None) -> bool:
    rel = item.relative_to(folder).as_posix()
    if any(part.startswith(".") or part.startswith("checkpoint") for part in item.relative_to(folder).parts):
        return False
    if rel in SKIPPED or rel.endswith((".ort", ".md", ".png")):
        return False
    if rel.startswith("onnx/"):  # one artifact file among several: only it counts
        return file is not None and (rel == file or rel.startswith(file + "_data") or rel == file + ".data")
    return True


def model_fingerprint(path: str, file: str | None) -> str | None:
    """A hash of the model's output-shaping files, or None when ``path`` is not a local folder."""
    from compress.models import resolve_model

    folder = Path(resolve_model(path))
    if not folder.is_dir():
        return None
    digest = hashlib.blake2b(digest_size=16)
    for item in sorted(p for p in folder.rglob("*") if p.is_file() and _shapes_output(p, folder, file)):
        digest.update(item.relative_to(folder).as_posix().encode() + b"\0")
        with item.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
    return digest.hexdigest()


def encoded_paths(model: str | None, rset: RetrievalSet, prompts: Prompts, folder: Path,
                  precision: Precision = Precision.FP32) -> Encoded:
    """The cache files of one model fingerprint (``model``; None: ``folder`` is a scratch folder) and set;
    embeddings under bf16 autocast (``precision``) are kept apart from fp32 ones."""
    def path(side: InputType) -> Path:
        key = {"model": model, "texts": rset.fingerprint(SIDES[side]), "prompt": prompts.of(side),
               **({"precision": precision.value} if precision is not Precision.FP32 else {})}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        return folder / f"{rset.name}-{SIDES[side]}-{digest}.npy"

    return Encoded(path(InputType.QUERY), path(InputType.DOCUMENT))
