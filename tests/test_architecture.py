"""Import rules (docs/architecture.md): the layers import only downward and never in a circle; the distill wing
imports neither the benchmark, the run nor the runtime; the artifact owner and the runtime stay torch-free and
independent of the distillation code; no library module imports the benchmark scripts; benchmark scripts import
only the package's public names. Read from the source (every import statement, function-level ones too);
tests/serve/test_embedder.py checks the same at run time in a fresh process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ("compress", "export", "serve")
HEAVY = {"torch", "transformers", "sentence_transformers", "optimum", "onnx", "datasets", "model2vec", "scipy",
         "accelerate", "tqdm", "matplotlib", "nncf"}
# What the artifact owner and the runtime may import from this project: nothing of distillation, export or bench.
LIGHT_PROJECT = {"compress.errors", "compress.io", "compress.extras", "compress.quant_targets", "export.artifact",
                 "serve"}
# The layers, bottom up: a module imports only from its own layer and those below (docs/architecture.md).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("compress.errors", "compress.io", "compress.faults", "compress.progress", "compress.dist", "compress.handoff",
     "compress.defaults", "compress.extras", "compress.quant_targets"),  # the kernel: no project imports above it
    ("export.artifact",),  # the artifact format's owner (torch-free)
    ("compress.enums", "compress.gates", "compress.config", "compress.profiles", "compress.preflight",
     "compress.models", "compress.precision", "compress.metrics", "compress.data", "compress.machine",
     "compress.emulation"),  # the base
    ("export", "compress.distill", "compress.bench", "serve"),  # the stages and the runtime
    ("compress.run",),  # compress run: the stages in order, the release
    ("compress.cli", "compress.__main__", "compress"),  # the command line
)
# Stages that a stage must not import (beside the layer rule): the distill wing stands on the base and export only.
FORBIDDEN = {"compress.distill": ("compress.bench", "compress.run", "serve"),
             "export": ("compress.distill", "compress.bench", "compress.run", "serve"),
             "compress.bench": ("compress.distill", "compress.run"),
             "serve": ("compress.distill", "compress.bench", "compress.run")}


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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in _modules(*LIBRARY)}


def project_imports(path: Path) -> set[str]:
    """The project modules ``path`` imports (``from a.b import c`` is ``a.b.c`` when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                     for alias in node.names]
        found |= {n for n in names if n.split(".")[0] in LIBRARY}
    return found


def _owner(name: str, prefixes: tuple[str, ...] | dict[str, object]) -> str | None:
    """The longest prefix in ``prefixes`` that ``name`` is or lies under."""
    hits = [p for p in prefixes if name == p or name.startswith(p + ".")]
    return max(hits, key=len) if hits else None


def layer_of(name: str) -> int:
    ranked = [(len(prefix), i) for i, layer in enumerate(LAYERS) for prefix in layer
              if name == prefix or name.startswith(prefix + ".")]
    assert ranked, f"{name} is in no layer: add it to LAYERS"
    return max(ranked)[1]


@pytest.mark.parametrize("name", sorted(MODULES), ids=str)
def test_imports_run_down_the_layers(name: str) -> None:
    for imported in project_imports(MODULES[name]):
        assert layer_of(imported) <= layer_of(name), (
            f"{name} (layer {layer_of(name)}) imports {imported} (layer {layer_of(imported)}), a layer above it")
        stage = _owner(name, FORBIDDEN)
        if stage is not None:
            bad = _owner(imported, FORBIDDEN[stage])
            assert bad is None or _owner(imported, FORBIDDEN) == stage, f"{name} imports {imported} ({bad})"


def test_no_import_loops() -> None:
    """No module reaches itself through the imports of others (a package's ``__init__`` re-exporting its own
    modules aside: those are the package's public names)."""
    graph = {name: {i for i in project_imports(path) if i in MODULES and not name.startswith(i + ".")}
             for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, "import loop: " + " -> ".join([*trail[trail.index(nxt):], nxt])
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


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


SCRIPTS = sorted((REPO / "benchmarks").rglob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_benchmark_scripts_use_public_names_only(path: Path) -> None:
    """Benchmark scripts import the package's public names: no private name, no sibling script, no sys.path
    edit."""
    siblings = {p.stem for p in SCRIPTS}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__future__"]
            assert not private, f"{path.name} imports private {private} from {node.module}"
            assert node.module.split(".")[0] not in siblings, f"{path.name} imports the script {node.module}"
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & siblings, f"{path.name} imports a script"
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and ast.unparse(node.func.value) == "sys.path"):
            raise AssertionError(f"{path.name} edits sys.path: {ast.unparse(node)}")
