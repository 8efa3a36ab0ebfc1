"""``bench.peers``: models a user would pick instead of the student, measured beside it the way their own users
ship them: sentence-transformers' dynamic int8 ONNX export for this CPU's preset, run by its ONNX backend.

Each peer is exported once into ``<output.cache_dir>/peers/`` (keyed by its model files and the preset) and written
there atomically. Peers are compared, never gated: the gates judge the student (or the models you name).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from compress.bench.harness import ModelSpec
from compress.bench.peer_exports import host_preset, st_int8_export, st_int8_file
from compress.io import building_dir

log = logging.getLogger(__name__)


def peer_label(name: str) -> str:
    return f"{Path(name).name} int8"


def _key(model_dir: Path, preset: str) -> str:
    """The model's files (names and sizes) and the preset: a new model under the same name exports again."""
    files = sorted((p.relative_to(model_dir).as_posix(), p.stat().st_size) for p in model_dir.rglob("*") if p.is_file())
    return hashlib.sha256(repr((files, preset)).encode()).hexdigest()[:12]


def peer_spec(name: str, cache_dir: Path) -> ModelSpec:
    """``name``: a model id or a sentence-transformers folder; exported on first use, then read from the cache."""
    from compress.models import resolve_model

    model_dir, preset = Path(resolve_model(name)), host_preset()
    folder = cache_dir / "peers" / f"{Path(name).name}-{preset}-{_key(model_dir, preset)}"
    if not st_int8_file(folder, preset).is_file():
        log.info("bench.peers: exporting %s with sentence-transformers (dynamic int8, %s preset)", name, preset)
        with building_dir(folder) as tmp:
            st_int8_export(str(model_dir), tmp, preset)
    file = st_int8_file(folder, preset).relative_to(folder).as_posix()
    return ModelSpec(peer_label(name), "st-onnx", str(folder), file, peer=True)
