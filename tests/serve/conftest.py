from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from serve.app import ServerSettings, create_app
from serve.embedder import Embedder

API_KEY = "test-key"


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
