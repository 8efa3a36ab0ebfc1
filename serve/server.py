"""Run the server with uvicorn; SIGTERM/SIGINT stop accepting, let in-flight requests finish, then exit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serve.app import ServerSettings, create_app
from serve.embedder import Embedder


def build_server(artifact: Path, host: str = "127.0.0.1", port: int = 8080, target: str = "auto",
                 threads: int | None = None, settings: ServerSettings | None = None) -> Any:
    import uvicorn

    app = create_app(Embedder(artifact, target=target, threads=threads), settings)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30,
                            access_log=False)
    return uvicorn.Server(config)
