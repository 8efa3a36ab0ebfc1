from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from serve.app import ServerSettings, create_app
from serve.embedder import Embedder
from tests.conftest import REPO

API_KEY = "test-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve_process(artifact: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``compress serve ARTIFACT`` as its own process on a free port of 127.0.0.1, once it answers /health; killed
    on the way out if it is still running."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "compress", "serve", str(artifact), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield proc, url
    finally:
        proc.kill()


@dataclass(frozen=True)
class Running:
    url: str
    embedder: Embedder
    settings: ServerSettings


def start_server(embedder: Embedder, settings: ServerSettings) -> tuple[object, threading.Thread, str]:
    import uvicorn

    config = uvicorn.Config(create_app(embedder, settings), host="127.0.0.1", port=0, log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def embedder(exported) -> Embedder:
    return Embedder(exported.out_dir)


@pytest.fixture(scope="session")
def server(embedder: Embedder) -> Iterator[Running]:
    settings = ServerSettings(max_body_bytes=20_000, max_items=16, max_chars=200, api_key=API_KEY, max_queue=4096)
    srv, thread, url = start_server(embedder, settings)
    yield Running(url, embedder, settings)
    srv.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=30)


def slowed(embedder: Embedder, seconds: float) -> Embedder:
    """Make every encode take ``seconds`` longer (to fill the queue or keep a request in flight)."""
    import numpy as np

    fast = embedder.encode

    def slow(texts: list[str], **kwargs: object) -> np.ndarray:
        time.sleep(seconds)
        return fast(texts)

    embedder.encode = slow  # type: ignore[method-assign]
    return embedder
