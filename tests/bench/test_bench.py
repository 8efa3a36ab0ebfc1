from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from PIL import Image
from typer.testing import CliRunner

from compress.bench.schema import BENCH_SCHEMA
from compress.bench.stage import parse_model
from compress.cli import app
from compress.errors import ConfigError
from compress.gates import GateSettings, check
from compress.profiles import PROFILES, Profile, get_profile

runner = CliRunner()


@pytest.fixture(scope="module")
def bench_run(tiny_config_toml: Path, tiny_teacher_dir: Path, tiny_student_dir: Path, exported,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    from export.artifact.host import host_target
    from export.artifact.layout import choose_file

    out = tmp_path_factory.mktemp("bench")
    auto = choose_file(exported.out_dir, host_target())  # what "art" runs on this CPU; "int8" names the other one
    other = next(f for f in ("onnx/model_qint8_avx2.onnx", "onnx/model_qint8_avx512_vnni.onnx") if f != auto)
    result = runner.invoke(app, [
        "bench", str(tiny_student_dir), str(exported.out_dir), f"int8={exported.out_dir}:{other}",
        "--teacher", f"teacher={tiny_teacher_dir}", "--profiles", "edge-1core,x86-server,arm64", "--out", str(out),
        "--json",
        "--config", str(tiny_config_toml), "--set", "bench.latency_calls=20", "--set", "bench.warmup=2",
        "--set", "bench.heldback_sentences=20", "--set", "bench.throughput_batches=1",
        "--set", "bench.throughput_seconds=0", "--set", "bench.max_size_mb=1000"])
    return result.exit_code, out, result.stdout


@pytest.fixture(scope="module")
def tiny_config_toml(tmp_path_factory: pytest.TempPathFactory, tiny_teacher_dir: Path, corpus_file: Path,
                     sts_file: Path) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text(f'[data]\ncorpus = "{corpus_file}"\nmax_sentences = 200\nvalidation_sentences = 40\n'
                    f'sts_test = "{sts_file}"\n[output]\nprogress = false\n')
    return path


def test_bench_json_follows_the_schema(bench_run: tuple[int, Path, str]) -> None:
    code, out, stdout = bench_run
    assert code == 0, stdout
    doc = json.loads((out / "bench.json").read_text())
    jsonschema.validate(doc, BENCH_SCHEMA)
    ok = [e for e in doc["results"] if e["status"] == "ok"]
    # the artifact holds OpenVINO files: it runs on both runtimes, each profile's file
    assert {e["model"] for e in ok} == {"teacher", "st", "art", "int8", "art (openvino)"}
    assert all(e["latency_batch1"]["calls"] == 20 and set(e["throughput"]) == {"32", "128"} for e in ok)
    assert all(set(e["throughput_sorted"]) == {"32"} and e["as_users_call"]["texts"] == 40 for e in ok)
    art = next(e for e in ok if e["model"] == "art")
    assert art["file"].startswith("onnx/") and art["kind"] == "onnx" and art["imported_torch"] is False
    assert art["runtime"] == "onnxruntime" and art["as_users_call"]["call"] == "serve.Embedder.encode(texts)"
    ov = next(e for e in ok if e["model"] == "art (openvino)" and e["profile"] == "edge-1core")
    assert ov["runtime"] == "openvino" and ov["file"].startswith("openvino/") and ov["imported_torch"] is False
    assert ov["batch_invariance"]["min_cosine"] >= 0.9999 and ov["batch_invariance"]["batch"] == 32
    teacher_entry = next(e for e in ok if e["model"] == "teacher" and e["profile"] == "edge-1core")
    assert teacher_entry["batch_invariance"]["min_cosine"] >= 0.9999  # fp32 PyTorch: the same vector in any batch
    assert teacher_entry["as_users_call"]["call"] == "SentenceTransformer.encode(texts, batch_size=32)"
    assert art["cosine"]["against"] == "teacher" and art["threads"] == 1 and art["cores"] == [0]
    teacher = next(e for e in ok if e["model"] == "teacher")
    assert teacher["retention_percent"] == pytest.approx(100.0)
    skipped = [e for e in doc["results"] if e["profile"] == "arm64"]
    assert len(skipped) == 5 and all(e["status"].startswith("not runnable here") for e in skipped)
    assert doc["machine"]["cores"] >= 1 and doc["settings"]["profiles"]["edge-1core"]["threads"] == 1
    assert "| teacher | edge-1core |" in (out / "bench.md").read_text()
    assert "| art (openvino) | edge-1core | openvino |" in (out / "bench.md").read_text()
    assert json.loads(stdout)["gates"]["passed"] is True


def test_accuracy_is_measured_once_per_file(bench_run: tuple[int, Path, str]) -> None:
    results = json.loads((bench_run[1] / "bench.json").read_text())["results"]
    first = {e["model"]: e for e in results if e["profile"] == "edge-1core"}
    later = [e for e in results if e["profile"] == "x86-server"]
    assert len(later) == 5 and all(e["status"] == "ok" and "latency_batch1" in e for e in later)
    for entry in later:
        assert entry["accuracy_from"] == "edge-1core" and "accuracy_from" not in first[entry["model"]]
        for key in ("sts_spearman", "retention_percent", "cosine"):
            assert entry[key] == first[entry["model"]][key]


def test_pareto_png_decodes(bench_run: tuple[int, Path, str]) -> None:
    with Image.open(bench_run[1] / "pareto.png") as image:
        image.load()
        width, height = image.size
        assert width > height >= 400  # panels side by side, the legends at the right


def test_gate_failure_exits_1(tiny_config_toml: Path, tiny_student_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", f"s={tiny_student_dir}", "--teacher", "none", "--profiles", "edge-1core",
                                 "--out", str(tmp_path), "--config", str(tiny_config_toml),
                                 "--set", "bench.latency_calls=5", "--set", "bench.warmup=1",
                                 "--set", "bench.throughput_batches=1", "--set", "bench.heldback_sentences=5",
                                 "--set", "bench.throughput_seconds=0",
                                 "--set", "bench.max_size_mb=0.000001"])
    assert result.exit_code == 1
    assert "gate failed: s on edge-1core: size" in result.stderr
    assert json.loads((tmp_path / "bench.json").read_text())["gates"]["passed"] is False


def test_gates_per_profile_latency_and_retention() -> None:
    entry = {"model": "m", "profile": "edge-1core", "status": "ok", "size_mb": 10.0, "retention_percent": 98.0,
             "latency_batch1": {"total": {"p95_ms": 12.0}}}
    assert check([entry], GateSettings({"min_retention": 99.0})) == ["m on edge-1core: retention 98.00% < 99.0%"]
    unscored = {k: v for k, v in entry.items() if k != "retention_percent"}  # the teacher failed, or no STS file
    assert check([unscored], GateSettings({"min_retention": 50.0})) == [
        "m on edge-1core: retention not measured (the teacher or the STS scores are missing)"]
    assert check([entry], GateSettings({"max_p95_ms": {"edge-1core": 10}})) == [
        "m on edge-1core: batch-1 p95 12.00 ms > 10 ms"]
    assert check([entry], GateSettings({"max_p95_ms": {"x86-server": 10}})) == []
    assert check([entry], GateSettings({"max_p95_ms": {"*": 20}, "max_size_mb": 11})) == []


def test_profiles_and_model_specs(tmp_path: Path) -> None:
    assert PROFILES["edge-1core"].threads == 1 and PROFILES["edge-1core"].cores == (0,)
    ok, why = Profile("p", 1, arch="arm64" if __import__("platform").machine() == "x86_64" else "x86_64").runnable()
    assert not ok and why.startswith("not runnable here")
    with pytest.raises(ConfigError, match="unknown profile 'edge-9core'"):
        get_profile("edge-9core")
    (tmp_path / "art").mkdir()
    spec = parse_model(f"fast={tmp_path}/art:onnx/model_qint8_avx2.onnx")
    assert (spec.label, spec.kind, spec.path) == ("fast", "onnx", f"{tmp_path}/art")
    with pytest.raises(ConfigError, match="path/to/art does not exist"):
        parse_model("fast=path/to/art:onnx/model_qint8_avx2.onnx")
    assert spec.file == "onnx/model_qint8_avx2.onnx"
    assert parse_model("all-MiniLM-L6-v2").kind == "torch"
    (tmp_path / "modules.json").write_text("[]")  # a sentence-transformers folder with its own ONNX export
    st = parse_model(f"peer={tmp_path}:onnx/model_qint8_avx512_vnni.onnx")
    assert (st.kind, st.file) == ("st-onnx", "onnx/model_qint8_avx512_vnni.onnx")
    assert parse_model(str(tmp_path)).kind == "torch"


def test_custom_profiles_from_the_config(tmp_path: Path) -> None:
    from compress.bench.stage import _profiles
    from compress.config import load_config

    path = tmp_path / "c.toml"
    path.write_text('[bench]\nprofiles = ["pi-zero", "edge-1core"]\n[bench.custom_profiles.pi-zero]\n'
                    'threads = 1\ncores = [0]\nquant_target = "arm64"\narch = "arm64"\n')
    pi, edge = _profiles(load_config(path))
    assert (pi.name, pi.threads, pi.cores, pi.quant_target, pi.arch) == ("pi-zero", 1, (0,), "arm64", "arm64")
    assert edge == PROFILES["edge-1core"]
    path.write_text('[bench.custom_profiles.x]\nthread = 1\n')
    with pytest.raises(ConfigError, match=r"unknown config key 'bench\.custom_profiles\.x\.thread'"):
        load_config(path)


def test_model2vec_peer_is_measured_in_its_own_small_process(tiny_teacher, tmp_path: Path, sts_file: Path) -> None:
    from model2vec.distill import distill_from_model

    from compress.bench.harness import BenchData, ModelSpec, length_groups, run_bench
    from compress.config import BenchConfig
    from compress.data import load_sts
    from tests.conftest import make_sentences

    module = tiny_teacher[0]
    distill_from_model(model=module.auto_model, tokenizer=module.tokenizer, pca_dims=16,
                       device="cpu").save_pretrained(str(tmp_path / "m2v"))
    sentences = make_sentences(20, seed=4)
    data = BenchData(sentences, sentences[:8], load_sts(sts_file), length_groups(sentences))
    (entry,) = run_bench([ModelSpec("m2v", "model2vec", str(tmp_path / "m2v"))], [get_profile("x86-server")], data,
                         BenchConfig(latency_calls=5, warmup=1, throughput_batches=1, heldback_sentences=8,
                                     throughput_seconds=0), False)
    assert entry["status"] == "ok" and entry["imported_torch"] is False
    assert entry["throughput"]["32"] > 0 and -100 <= entry["sts_spearman"] <= 100
    assert entry["peak_rss_mb"] < 1000  # its own process image, not the (larger) parent's


def test_throughput_runs_for_at_least_the_given_time() -> None:
    import time

    from compress.bench.worker import _throughput

    calls: list[int] = []

    def infer(batch: list[str]) -> None:
        calls.append(len(batch))
        time.sleep(0.001)

    assert _throughput(list, infer, ["a", "b", "c"], 2, 3) > 0 and len(calls) == 1 + 3  # warm-up + batches
    calls.clear()
    _throughput(list, infer, ["a", "b", "c"], 2, 1, min_seconds=0.05)
    assert len(calls) > 1 + 1 and set(calls) == {2}  # kept going past the one batch asked for


def test_pareto_frontier_keeps_only_unbeaten_points(tmp_path: Path) -> None:
    from compress.bench.pareto import frontier, pareto_plot

    points = [(1.0, 70.0), (2.0, 80.0), (2.5, 79.0), (5.0, 85.0), (0.5, 60.0), (6.0, 84.0)]
    assert sorted(frontier(points)) == [0, 1, 3, 4]  # (2.5, 79) and (6, 84) are beaten on both counts

    def entry(model: str, profile: str, ms: float, sts: float) -> dict[str, object]:
        return {"model": model, "profile": profile, "status": "ok", "sts_spearman": sts, "size_mb": 20.0,
                "latency_batch1": {"total": {"p50_ms": ms}}}

    entries = [entry(f"m{i}", p, ms, sts) for i, (ms, sts) in enumerate(points) for p in ("x86-server", "edge")]
    pareto_plot([*entries, {"model": "broken", "profile": "edge", "status": "error"}], tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000



def test_the_plot_draws_a_panel_per_measured_accuracy_with_plain_millisecond_ticks(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from compress.bench.pareto import pareto_plot

    def entry(model: str, ms: float, ndcg: float, index: dict[str, float] | None, teacher: bool = False) -> dict:
        return {"model": model, "profile": "x86-server", "status": "ok", "teacher": teacher, "sts_spearman": ndcg,
                "size_mb": 20.0, "latency_batch1": {"total": {"p50_ms": ms}},
                "retrieval": {"cacm": {"ndcg@10": ndcg}},
                **({"index": {"cacm": index}} if index is not None else {})}

    entries = [entry("teacher", 40.0, 45.0, None, teacher=True), entry("student", 2.5, 33.0, {"ndcg@10": 20.0}),
               entry("MiniLM int8", 3.5, 40.0, {"error": "dims differ"})]
    saved: list = []
    real_savefig = plt.Figure.savefig

    def keep(fig, *args, **kwargs):  # look at the figure as it is written
        saved.append([(ax.get_title(), [t.get_text() for t in ax.get_xticklabels()]) for ax in fig.axes])
        return real_savefig(fig, *args, **kwargs)

    plt.Figure.savefig = keep  # type: ignore[method-assign]
    try:
        pareto_plot(entries, tmp_path / "p.png", "index")
    finally:
        plt.Figure.savefig = real_savefig  # type: ignore[method-assign]
    titles = [title for title, _ in saved[0]]
    assert titles[0].startswith("Index compatibility") and "MiniLM int8" in titles[0]
    assert titles[1:] == ["Sentence similarity", "Retrieval, alone"]
    labels = [label for _, ticks in saved[0] for label in ticks if label]
    assert labels and all("10^" not in label and "times" not in label for label in labels)
