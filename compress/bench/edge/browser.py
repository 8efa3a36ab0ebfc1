"""transformers.js in headless Chromium: a local page on 127.0.0.1 runs the artifact on onnxruntime-web (WebAssembly).

The harness serves the page, the embedding script Node runs too, transformers.js' browser bundle, onnxruntime-web's
WebAssembly files and the artifact folder, each from its own root (nothing else is reachable), with the
cross-origin isolation headers that WebAssembly threads need. The page posts its embeddings and timings back.
"""

from __future__ import annotations

import json
import mimetypes
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from compress.bench.edge.js import JsRun, read_embeddings
from compress.bench.edge.runtimes import JS_SOURCES, SETUP, chromium, ort_web_dist, transformers_bundle
from compress.errors import CompressError
from compress.profiles import Runtime

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-extensions", "--mute-audio")
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json",
         ".html": "text/html", ".onnx": "application/octet-stream"}


class PageFailed(CompressError):
    """The page did not load or did not run: a missing file or a script error, named."""


class Site:
    """What the page may fetch (URL prefix -> folder) and what it posted back."""

    def __init__(self, artifact: Path, spec: dict[str, Any]) -> None:
        self.roots = {"/edge/": JS_SOURCES, "/ort/": ort_web_dist(), "/models/artifact/": artifact}
        self.files = {"/page.html": JS_SOURCES / "page.html", "/tf/transformers.js": transformers_bundle()}
        self.spec = json.dumps(spec).encode()
        self.results: dict[str, bytes] = {}
        self.missing: list[str] = []
        self.done = threading.Event()

    def resolve(self, url: str) -> Path | None:
        path = url.split("?", 1)[0]
        if path in self.files:
            return self.files[path] if self.files[path].is_file() else None
        for prefix, root in self.roots.items():
            if path.startswith(prefix):
                found = (root / path[len(prefix):]).resolve()
                return found if found.is_relative_to(root.resolve()) and found.is_file() else None
        return None


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/spec.json":
                return self._send(200, site.spec, "application/json")
            found = site.resolve(self.path)
            if found is None:
                self._send(404, b"not found", "text/plain")
                if self.path != "/favicon.ico":  # the page cannot run without it: stop waiting
                    site.missing.append(self.path)
                    site.done.set()
                return None
            kind = TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
            return self._send(200, found.read_bytes(), kind)

        def do_POST(self) -> None:
            name = self.path.removeprefix("/result/")
            site.results[name] = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(200, b"ok", "text/plain")
            if name in ("meta.json", "error.json"):
                site.done.set()

    return Handler


def run_browser(art: Path, spec: dict[str, Any], folder: Path, timeout: float) -> JsRun:
    """Serve the page for ``art``, load it in headless Chromium, and return what it posted."""
    browser = chromium()
    if browser is None:
        raise CompressError("Chromium is not installed", f"set it up with: {SETUP[Runtime.BROWSER]}")
    site = Site(art.resolve(), {**spec, "model": "artifact"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
    with tempfile.TemporaryDirectory(prefix="st-compress-chromium-") as profile:
        proc = subprocess.Popen([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            finished = site.done.wait(timeout)
        finally:
            proc.kill()
            proc.wait()
            server.shutdown()
            server.server_close()
    return _collect(site, folder, len(spec["texts"]), finished, timeout)


def _collect(site: Site, folder: Path, count: int, finished: bool, timeout: float) -> JsRun:
    # a missing file stops the wait at once (the page is closed before it can post its error): a failure whatever
    # else arrived in time
    if site.missing or "error.json" in site.results:
        error = json.loads(site.results.get("error.json", b"{}") or b"{}").get("error", "")
        missing = f"; not found: {', '.join(site.missing)}" if site.missing else ""
        raise PageFailed(f"the browser page failed: {error.splitlines()[0] if error else 'no result'}{missing}",
                         f"install the page's files with: {SETUP[Runtime.BROWSER]}")
    if not finished or "meta.json" not in site.results:
        raise PageFailed(f"the browser page posted no result within {timeout:.0f} s",
                         f"check that Chromium starts headless, then re-run; set it up with: {SETUP[Runtime.BROWSER]}")
    meta = json.loads(site.results["meta.json"])
    for name, body in site.results.items():
        if name.endswith(".f32"):
            (folder / name).write_bytes(body)
    return JsRun(meta, read_embeddings(meta, folder, count))
