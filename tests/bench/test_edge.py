"""Edge profiles, for real: transformers.js in Node and in headless Chromium, the arm64 int8 file under qemu-user
with a Raspberry Pi's CPU, fastembed; and every way they refuse to start, before any work."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from compress.bench.edge import js
from compress.bench.edge.measure import Texts, python_run
from compress.bench.harness import ModelSpec
from compress.bench.schema import BENCH_SCHEMA
from compress.cli import app
from compress.config import StudentKind
from compress.metrics import cosines
from compress.profiles import PROFILES, Runtime
from export.artifact import layout
from tests.conftest import KindArtifacts, make_sentences

runner = CliRunner()
SETTINGS = ["--set", "bench.latency_calls=5", "--set", "bench.warmup=1", "--set", "bench.heldback_sentences=20",
            "--set", "bench.throughput_batches=1", "--set", "bench.throughput_seconds=0"]


@pytest.fixture(scope="module")
def edge_config(tmp_path_factory: pytest.TempPathFactory, corpus_file: Path, sts_file: Path) -> Path:
    path = tmp_path_factory.mktemp("edge-cfg") / "c.toml"
    path.write_text(f'[data]\ncorpus = "{corpus_file}"\nmax_sentences = 200\nvalidation_sentences = 40\n'
                    f'sts_test = "{sts_file}"\n[output]\nprogress = false\n')
    return path


@pytest.fixture(scope="module")
def edge_run(kind_artifacts: KindArtifacts, tiny_teacher_dir: Path, edge_config: Path,
             tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The projected student (the default recipe's kind) on the host, in Node, in Chromium and on an emulated Pi 4."""
    _, art = kind_artifacts[StudentKind.PRETRAINED]
    out = tmp_path_factory.mktemp("edge-bench")
    result = runner.invoke(app, ["bench", f"art={art}", "--teacher", f"teacher={tiny_teacher_dir}", "--profiles",
                                 "x86-server,node,browser,rpi4", "--out", str(out), "--config", str(edge_config),
                                 *SETTINGS])
    assert result.exit_code == 0, result.output
    return json.loads((out / "bench.json").read_text()) | {"markdown": (out / "bench.md").read_text()}


def test_edge_profiles_are_real_devices_and_runtimes() -> None:
    assert (PROFILES["rpi4"].cpu, PROFILES["rpi5"].cpu, PROFILES["arm64-server"].cpu) == \
        ("cortex-a72", "cortex-a76", "neoverse-n1")
    assert all(PROFILES[p].quant_target == "arm64" and PROFILES[p].runtime is Runtime.QEMU
               for p in ("rpi4", "rpi5", "arm64-server"))
    assert PROFILES["node"].runtime is Runtime.NODE and PROFILES["browser"].runtime is Runtime.BROWSER


def test_edge_runs_agree_with_python_on_the_same_file(edge_run: dict) -> None:
    jsonschema.validate({k: v for k, v in edge_run.items() if k != "markdown"}, BENCH_SCHEMA)
    by_profile = {e["profile"]: e for e in edge_run["edge"]}
    assert set(by_profile) == {"node", "browser", "rpi4"}
    assert all(e["status"] == "ok" for e in by_profile.values()), by_profile
    for name in ("node", "browser"):
        entry = by_profile[name]
        assert set(entry["modes"]) == {"model", "pipeline"}  # AutoModel, and the mean-pooling pipeline
        for mode in entry["modes"].values():
            assert mode["agreement"]["min_cosine"] >= 0.9999, (name, mode)
            assert mode["timing"]["emulated"] is False and mode["timing"]["latency_batch1"]["p50_ms"] > 0
            assert mode["cosine"]["against"] == "teacher" and mode["retention_percent"] > 0
    rpi4 = by_profile["rpi4"]
    # the row-wise (batch-invariant) arm64 file, run by the emulated onnxruntime
    assert rpi4["file"] == layout.quantized_file("arm64", layout.QuantKind.ROWWISE)
    assert "-cpu cortex-a72" in rpi4["runtime"]
    emulated = rpi4["modes"]["onnxruntime"]
    assert emulated["timing"]["emulated"] is True
    assert emulated["agreement"]["min_cosine"] > 0.99 and abs(emulated["agreement"]["sts_delta"]) < 1.0
    assert edge_run["settings"]["profiles"]["rpi4"]["cpu"] == "cortex-a72"
    assert "## Edge runtimes" in edge_run["markdown"] and "(emulated)" in edge_run["markdown"]
    native = [e for e in edge_run["results"] if e["status"] == "ok"]
    assert {e["profile"] for e in native} == {"x86-server"}  # edge rows are kept apart from the native table


@pytest.mark.parametrize("kind", list(StudentKind))
def test_node_gives_python_s_embedding_for_every_kind(kind: StudentKind, kind_artifacts: KindArtifacts,
                                                      tmp_path: Path, sts_file: Path) -> None:
    """AutoModel + sentence_embedding and the plain mean-pooling pipeline, on the fp32 file and on an int8 file
    given the same batches, equal onnxruntime in Python (cosine >= 0.9999): projected and static students too."""
    from compress.data import load_sts

    _, art = kind_artifacts[kind]
    texts = Texts(load_sts(sts_file), make_sentences(20, seed=40)).all
    for file in (layout.FP32, layout.quantized_file("avx2", layout.QuantKind.ROWWISE),
                 layout.quantized_file("avx2")):  # row-wise and dynamic int8
        folder = tmp_path / Path(file).stem
        folder.mkdir()
        reference = python_run(ModelSpec("m", "onnx", str(art), file), file, texts, folder)
        run = js.run_node(js.js_spec(art, file, texts, None, None), folder, 600)
        for mode, values in run.embeddings.items():
            assert values.shape == reference.shape
            assert cosines(values, reference).min() >= 0.9999, (file, mode)


@pytest.mark.parametrize("kind", list(StudentKind))
def test_fastembed_mean_pooling_gives_the_embedding(kind: StudentKind, kind_artifacts: KindArtifacts) -> None:
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    from serve import Embedder

    _, art = kind_artifacts[kind]
    sentences = make_sentences(16, seed=41)
    expected = Embedder(art, target="fp32").encode(sentences)
    name = f"local/st-compress-test-{kind.value}"
    if name not in {m["model"] for m in TextEmbedding.list_supported_models()}:
        TextEmbedding.add_custom_model(model=name, pooling=PoolingType.MEAN, normalization=True,
                                       sources=ModelSource(hf=name), dim=expected.shape[1], model_file=layout.FP32)
    model = TextEmbedding(name, specific_model_path=str(art), local_files_only=True)
    got = np.array(list(model.embed(sentences, batch_size=len(sentences))))
    assert cosines(got, expected).min() > 0.9999


def _bench(art: Path, profile: str, config: Path, out: Path) -> object:
    return runner.invoke(app, ["bench", str(art), "--teacher", "none", "--profiles", profile, "--out", str(out),
                               "--config", str(config), *SETTINGS])


@pytest.mark.parametrize(("profile", "fix"), [("node", "scripts/setup-edge.sh node"),
                                              ("browser", "scripts/setup-edge.sh browser"),
                                              ("rpi5", "scripts/setup-arm64.sh")])
def test_a_profile_whose_runtime_is_missing_exits_2_with_the_setup_command(
        profile: str, fix: str, kind_artifacts: KindArtifacts, edge_config: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ST_COMPRESS_HOME", str(tmp_path / "empty-home"))
    _, art = kind_artifacts[StudentKind.PRUNED]
    result = _bench(art, profile, edge_config, tmp_path / "out")
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert fix in result.output and "missing" in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "out").exists()


def test_an_artifact_without_an_arm64_file_exits_2(exported, edge_config: Path, tmp_path: Path) -> None:
    result = _bench(exported.out_dir, "rpi4", edge_config, tmp_path / "out")
    assert result.exit_code == 2 and layout.quantized_file("arm64") in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "out").exists()


def test_a_page_that_fails_to_load_exits_2_naming_what_is_missing(
        kind_artifacts: KindArtifacts, edge_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compress.bench.edge import browser

    monkeypatch.setattr(browser, "transformers_bundle", lambda: tmp_path / "gone" / "transformers.js")
    _, art = kind_artifacts[StudentKind.PRUNED]
    result = _bench(art, "browser", edge_config, tmp_path / "out")
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert "/tf/transformers.js" in result.output and "setup-edge.sh browser" in result.output  # type: ignore
    assert not (tmp_path / "out" / "bench.json").exists()


def test_run_refuses_an_arm64_profile_without_the_arm64_target(tiny_config_toml: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--config", str(tiny_config_toml), "--out", str(tmp_path / "rel"),
                                 "--set", 'bench.profiles=["x86-server", "rpi4"]',
                                 "--set", 'export.targets=["avx2"]'])
    assert result.exit_code == 2 and "export.targets" in result.output and "rpi4" in result.output
    assert not (tmp_path / "rel").exists()


def test_an_edge_run_that_fails_is_a_row_and_fails_the_benchmark(
        kind_artifacts: KindArtifacts, edge_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compress.bench.edge import measure

    def broken(*_: object) -> None:
        raise RuntimeError("node: onnxruntime-node could not load the model")

    monkeypatch.setattr(measure, "python_run", broken)
    _, art = kind_artifacts[StudentKind.PRUNED]
    result = _bench(art, "node", edge_config, tmp_path / "out")
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    doc = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert doc["edge"][0]["status"] == "error" and "could not load" in doc["edge"][0]["error"]
    assert any("could not run on node" in f for f in doc["gates"]["failed"])


def test_a_custom_emulated_profile_from_the_config(tmp_path: Path) -> None:
    from compress.bench.stage import _profiles
    from compress.config import load_config
    from compress.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text('[bench]\nprofiles = ["phone"]\n[bench.custom_profiles.phone]\nruntime = "qemu"\n'
                    'cpu = "cortex-a55"\nquant_target = "arm64"\n')
    (phone,) = _profiles(load_config(path))
    assert (phone.runtime, phone.cpu, phone.quant_target, phone.edge) == (Runtime.QEMU, "cortex-a55", "arm64", True)
    path.write_text('[bench.custom_profiles.phone]\nruntime = "qemu"\n')
    with pytest.raises(ConfigError, match=r"bench\.custom_profiles\.phone\.cpu"):
        load_config(path)
    path.write_text('[bench.custom_profiles.phone]\nruntime = "wasm"\n')
    with pytest.raises(ConfigError, match=r"bench\.custom_profiles\.phone\.runtime"):
        load_config(path)


def test_the_arm64_setup_script_refuses_to_run_without_the_venv(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from tests.conftest import REPO

    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "setup-arm64.sh", tmp_path / "scripts" / "setup-arm64.sh")
    proc = subprocess.run(["bash", str(tmp_path / "scripts" / "setup-arm64.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ST_COMPRESS_HOME": str(tmp_path)})
    assert proc.returncode == 2 and "run scripts/setup.sh first" in proc.stderr
    assert not (tmp_path / "runtimes").exists()  # nothing half-made
