"""Progress where nobody watches a terminal: log lines on stderr with rate and time left; silent when quiet."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compress import progress
from tests.conftest import REPO


def test_log_lines_every_5_percent_with_rate_and_time_left(monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("ST_COMPRESS_QUIET", raising=False)
    monkeypatch.setenv("CI", "true")  # no bar in CI: log lines instead
    bar = progress.progress_bar(total=1000, desc="teacher embeddings", initial=100)
    assert isinstance(bar, progress.ProgressLog)
    with caplog.at_level(logging.INFO, logger="compress.progress"):
        for _ in range(90):
            bar.update(10)
    lines = [r.getMessage() for r in caplog.records]
    assert 17 <= len(lines) <= 19  # every 5% of 1000, from 10% to 100%
    assert lines[0].startswith("teacher embeddings: 150/1,000 sent (15%)") and "left" in lines[0]
    assert lines[-1].startswith("teacher embeddings: 1,000/1,000 sent (100%)") and "left" not in lines[-1]


def test_a_log_line_at_least_every_30_seconds(monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    bar = progress.ProgressLog(total=100_000, desc="training", unit="sent")
    with caplog.at_level(logging.INFO, logger="compress.progress"):
        bar.update(10)  # 0.01%: too little, too soon
        clock[0] = 31.0
        bar.update(10, loss="0.5")
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("training: 20/100,000 sent (0%)") and "loss 0.5" in line and "h left" in line


def test_quiet_and_terminal_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ST_COMPRESS_QUIET", "1")
    assert not progress.progress_logged() and not progress.progress_enabled()
    monkeypatch.delenv("ST_COMPRESS_QUIET")
    monkeypatch.setenv("CI", "true")
    assert progress.progress_logged() and not progress.progress_enabled()
    assert not progress.progress_logged(requested=False)  # output.progress = false


def test_distill_from_a_script_prints_progress_lines(tiny_config_toml: Path, tmp_path: Path) -> None:
    """stderr is a pipe here, as in CI or a release script: the teacher cache and training report progress."""
    env = {k: v for k, v in os.environ.items() if k not in ("ST_COMPRESS_QUIET", "TQDM_DISABLE")}
    text = tiny_config_toml.read_text().replace("progress = false", "progress = true")
    config = tmp_path / "c.toml"
    config.write_text(text)
    args = [sys.executable, "-m", "compress", "distill", "--config", str(config), "--out", str(tmp_path / "s")]
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "teacher embeddings: 200/200 sent (100%)" in done.stderr
    assert "training: " in done.stderr and "sent/s" in done.stderr
    quiet = subprocess.run([*args[:3], "--quiet", *args[3:], "--set", "train.epochs=0.5"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert quiet.returncode == 0, quiet.stderr
    assert "training: " not in quiet.stderr and "teacher embeddings:" not in quiet.stderr
