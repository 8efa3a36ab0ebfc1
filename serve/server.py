"""Run the server with uvicorn; SIGTERM/SIGINT stop accepting, let in-flight requests finish, then exit 0."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from serve.app import ServerSettings, create_app
from serve.embedder import Embedder


def check_bind(host: str, port: int) -> None:
    """Before loading the model: the address resolves and the port is free (else exit 2 with the reason)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CompressError(f"--host {host!r} is not an address of this machine ({exc.strerror})",
                            "use 127.0.0.1, ::1, 0.0.0.0 or a name that resolves") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            hint = ("stop what uses it, or choose another --port" if exc.errno == errno.EADDRINUSE
                    else "choose another --host or --port")
            raise CompressError(f"cannot listen on {host}:{port}: {exc.strerror}", hint) from None


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises the signal it caught once it has shut down, so a graceful SIGTERM ended the process
        with status 143; the shutdown was clean, so it exits 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    return Server


def build_server(artifact: Path, host: str = "127.0.0.1", port: int = 8080, target: str = "auto",
                 threads: int | None = None, settings: ServerSettings | None = None, runtime: str = "auto") -> Any:
    import uvicorn

    # onnxruntime's threads sleep between runs: spinning, they took the cores the event loop needed (measured with
    # benchmarks/serve_load.py on 2 cores: 1.50x the requests per second at 32 clients, p99 0.57x)
    app = create_app(Embedder(artifact, target=target, threads=threads, runtime=runtime, spin=False), settings)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30,
                            access_log=False)
    return _server_class()(config)
