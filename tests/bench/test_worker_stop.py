"""A stopped run does not leave its measuring worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

PARENT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from compress.cli import main
    from compress.bench.worker import spawn

    main(verbose=False, quiet=True)  # the command line's callback: what every ``compress`` command runs first
    spawn("sleeper", {}, Path(sys.argv[1]) / "spec.json", timeout=120,
          env={**os.environ, "PYTHONPATH": sys.argv[1] + os.pathsep + os.environ.get("PYTHONPATH", "")})
""")
SLEEPER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    Path(sys.argv[1]).with_name("pid").write_text(str(os.getpid()))
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_the_worker_and_exits_143(tmp_path: Path) -> None:
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], env=env)
    pid_file = tmp_path / "pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert parent.poll() is None, "the parent ended before its worker started"
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    assert _alive(worker)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    assert not _alive(worker)
