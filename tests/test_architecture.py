"""Import rules (docs/architecture.md): the artifact owner and the runtime stay torch-free and independent of the
distillation code; no library module imports the benchmark scripts. Read from the source (every import statement,
function-level ones too); tests/serve/test_embedder.py checks the same at run time in a fresh process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ("compress", "export", "serve")
HEAVY = {"torch", "transformers", "sentence_transformers", "optimum", "onnx", "datasets", "model2vec", "scipy",
         "accelerate", "tqdm", "matplotlib", "nncf"}
# What the artifact owner and the runtime may import from this project: nothing of distillation, export or bench.
LIGHT_PROJECT = {"compress.errors", "compress.io", "export.artifact", "serve"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("serve", "export/artifact"), ids=lambda p: str(p.relative_to(REPO)))
def test_runtime_and_artifact_owner_stay_light(path: Path) -> None:
    for name in imports(path):
        assert name.split(".")[0] not in HEAVY, f"{path.relative_to(REPO)} imports {name}"
        if name.split(".")[0] in LIBRARY:
            assert any(name == allowed or name.startswith(allowed + ".") for allowed in LIGHT_PROJECT), (
                f"{path.relative_to(REPO)} imports {name}: the runtime reads artifacts through export.artifact only")


@pytest.mark.parametrize("path", _modules(*LIBRARY), ids=lambda p: str(p.relative_to(REPO)))
def test_library_code_never_imports_benchmarks_or_tests(path: Path) -> None:
    bad = {n for n in imports(path) if n.split(".")[0] in ("benchmarks", "tests", "export_models")}
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_artifact_file_names_have_one_owner() -> None:
    """ONNX file names are spelled in export/artifact/layout.py only (docs and tests aside)."""
    spelled = [p.relative_to(REPO) for p in _modules(*LIBRARY)
               if "model_qint8" in p.read_text() or '"onnx/model' in p.read_text()]
    assert spelled == [Path("export/artifact/layout.py")]
