"""``compress run`` end to end on tiny models: release folder, reuse, SIGKILL and resume, gates, exit codes."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

from compress.config import load_config
from export.artifact.manifest import verify
from tests.conftest import flip_byte
from tests.run.conftest import VOLATILE, Release, run_compress


def stable_files(release: Release) -> dict[str, str]:
    return {k: v for k, v in release.manifest()["files"].items() if k not in VOLATILE}


def assert_no_release(release: Release) -> None:
    """A killed run leaves nothing that looks finished: no release folder, only hidden temporary ones."""
    assert not release.out.exists()
    assert not (release.out.parent / "release" / "manifest.json").exists()


def test_release_folder_is_complete_and_checksummed(release: Release) -> None:
    manifest = release.manifest()
    assert manifest["kind"] == "run" and manifest["status"] == "passed" and manifest["passed"] is True
    for name in ("student/model.safetensors", "student/modules.json", "onnx/model.onnx", "onnx/model_optimized.onnx",
                 "onnx/model_qint8_avx512_vnni.onnx", "onnx/model_qint8_avx2.onnx", "tokenizer.json",
                 "report.md", "report.json", "pareto.png", "bench/bench.json"):
        assert name in manifest["files"], name
    assert verify(release.out) == []
    assert not list((release.cache / "runs").glob("*/checkpoints"))  # removed once the distill stage finished
    assert manifest["config"] == load_config(release.config).to_dict()
    assert manifest["versions"]["onnxruntime"] and manifest["gates"]["failed"] == []
    # the student's OpenVINO files run on OpenVINO too (the bench measures both runtimes)
    assert {row["model"] for row in manifest["metrics"]["bench"]} == {"teacher", "student", "student (openvino)"}
    report = (release.out / "report.md").read_text()
    assert report.startswith("# st-compress run: PASSED") and "| student | x86-server |" in report
    assert "Machine: " in report and "## Stages" in report  # written from bench.json, not cut from bench.md
    assert "## Edge runtimes" in report and "| student | node |" in report  # an edge profile, in its own table
    for name in ("onnx/model_qint8_arm64.ort", "onnx/required_operators.config", "README.md"):
        assert name in manifest["files"], name
    card = (release.out / "README.md").read_text()
    assert card.startswith(f"# {release.out.name}\n") and "STS-B test (Spearman x100): teacher" in card
    # retrieval: the tables in the report, the student's scores in the card and the manifest, its gate judged
    assert "## Retrieval" in report and "## Index compatibility" in report and "| student |" in report
    assert "Retrieval nDCG@10 (x100" in card and "against the teacher's index" in card
    student = next(r for r in manifest["metrics"]["bench"] if r["model"] == "student")
    assert student["index"]["toy"]["retention_percent"] > 1.0
    assert manifest["gates"]["bench"]["min_index_retention"] == {"*": 1.0}
    assert release.out.stat().st_mode & 0o055 == 0o055  # others may read what they are handed (not 0700)
    assert not (release.cache / "stages" / ".lock").exists()  # the stages folder itself is locked


def test_rerun_reuses_every_stage_and_json_summary(release: Release) -> None:
    before = stable_files(release)
    done = run_compress("run", "--config", str(release.config), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["passed"] is True and summary["out_dir"] == str(release.out)
    assert all(stage["reused"] for stage in summary["stages"].values())
    assert stable_files(release) == before


def test_killed_during_distillation_resumes_to_the_same_release(fresh: Release, release: Release) -> None:
    killed = run_compress("run", "--config", str(fresh.config), kill_at="teacher-chunk")
    assert killed.returncode == -signal.SIGKILL
    assert_no_release(fresh)
    assert not list((fresh.cache / "stages" / "distill").glob("[!.]*"))  # no finished distill stage
    assert len(list((fresh.cache / "teacher").glob("*/chunks/*.npy"))) == 1  # the chunk written before the kill

    resumed = run_compress("run", "--config", str(fresh.config), quiet=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "teacher embeddings: resuming, 1 of 4 chunks on disk" in resumed.stderr
    assert stable_files(fresh) == stable_files(release)
    assert verify(fresh.out) == []


def test_killed_during_quantization_resumes_without_redoing_distillation(fresh: Release, release: Release) -> None:
    killed = run_compress("run", "--config", str(fresh.config), kill_at="quantized")
    assert killed.returncode == -signal.SIGKILL
    assert_no_release(fresh)
    assert len(list((fresh.cache / "stages" / "distill").glob("[!.]*"))) == 1
    assert not list((fresh.cache / "stages" / "export").glob("[!.]*"))
    assert list((fresh.cache / "stages" / "export").glob(".tmp-*"))  # the interrupted export

    resumed = run_compress("run", "--config", str(fresh.config), "--json")
    assert resumed.returncode == 0, resumed.stderr
    stages = json.loads(resumed.stdout)["stages"]
    assert stages["distill"]["reused"] and not stages["export"]["reused"]
    assert not list((fresh.cache / "stages" / "export").glob(".tmp-*"))
    assert stable_files(fresh) == stable_files(release)


def test_gate_failure_exits_1_and_marks_the_release_failed(release: Release, tmp_path: Path) -> None:
    out = tmp_path / "failing"
    done = run_compress("run", "--config", str(release.config), "--out", str(out), "--json",
                        "--set", "bench.max_size_mb=0.001")
    assert done.returncode == 1, done.stderr
    assert "gate failed: student on x86-server: size" in done.stderr
    summary = json.loads(done.stdout)
    assert summary["passed"] is False
    assert all(stage["reused"] for stage in summary["stages"].values())  # a threshold re-judges, never re-measures
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["gates"]["failed"]
    assert (out / "report.md").read_text().startswith("# st-compress run: FAILED")
    bench = json.loads((out / "bench" / "bench.json").read_text())
    assert bench["gates"]["failed"] == manifest["gates"]["failed"] and bench["gates"]["config"]["max_size_mb"] == 0.001
    assert verify(out) == []


def test_verify_catches_a_flipped_byte(release: Release, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(release.out, copy)
    flip_byte(copy / "onnx" / "model_qint8_avx2.onnx")
    done = run_compress("verify", str(copy))
    assert done.returncode == 1
    assert "mismatch: onnx/model_qint8_avx2.onnx" in done.stderr
    assert json.loads(done.stdout)["mismatches"] == ["onnx/model_qint8_avx2.onnx"]


def test_head_to_head_ratio_gates_are_judged_without_measuring_again(release: Release, tmp_path: Path) -> None:
    versus = ["--set", "bench.against=teacher", "--set", "bench.head_to_head_rounds=2",
              "--set", "bench.head_to_head_processes=1"]
    done = run_compress("run", "--config", str(release.config), "--out", str(tmp_path / "a"), "--json", *versus,
                        "--set", "bench.max_latency_ratio=1000")
    assert done.returncode == 0, done.stderr
    stages = json.loads(done.stdout)["stages"]
    assert stages["distill"]["reused"] and stages["export"]["reused"] and not stages["bench"]["reused"]
    row = json.loads((tmp_path / "a" / "report.json").read_text())["metrics"]["bench"]
    student = next(r for r in row if r["model"] == "student")
    assert student["head_to_head"]["against"] == "teacher" and student["head_to_head"]["latency_ratio"]["median"] > 0
    assert "## Head-to-head against teacher" in (tmp_path / "a" / "report.md").read_text()

    failing = run_compress("run", "--config", str(release.config), "--out", str(tmp_path / "b"), "--json", *versus,
                           "--set", "bench.min_throughput_ratio=1000")
    assert failing.returncode == 1, failing.stderr
    assert all(stage["reused"] for stage in json.loads(failing.stdout)["stages"].values())
    assert "gate failed: student on x86-server: batch-32 throughput" in failing.stderr


def test_a_budgeted_run_pins_its_choice_in_the_release_and_reuses_it(release: Release, tmp_path: Path) -> None:
    """``train.budget_minutes`` through ``compress run``: probed once (under the run's cache lock), the choice in
    the summary, the report and the manifest's config; a second run reads the recorded choice and reuses every stage."""
    out = tmp_path / "budgeted"  # its own cache: the session's release cache keeps one teacher cache
    args = ("run", "--config", str(release.config), "--set", "train.budget_minutes=30", "--set",
            f"output.cache_dir='{tmp_path / 'cache'}'", "--out", str(out), "--json")
    first = run_compress(*args)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    # the tiny corpus at the epoch cap: every sentence not held back, 4 epochs
    assert (summary["budget"]["max_sentences"], summary["budget"]["epochs"]) == (240, 4.0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["train"]["budget_minutes"] is None
    assert (manifest["config"]["data"]["max_sentences"], manifest["config"]["train"]["epochs"]) == (240, 4.0)
    assert "## Budget" in (out / "report.md").read_text()
    again = run_compress(*args)
    assert again.returncode == 0, again.stderr
    repeat = json.loads(again.stdout)
    assert repeat["budget"] == summary["budget"]  # the recorded choice (a new probe's timings would differ)
    assert all(stage["reused"] for stage in repeat["stages"].values())
