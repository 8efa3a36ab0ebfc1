"""The HTTP server: FastAPI on uvicorn, OpenAI-compatible ``POST /v1/embeddings``, health, info and metrics."""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from serve.batcher import MicroBatcher, QueueFull
from serve.embedder import Embedder
from serve.limits import BodyLimit, documented, error
from serve.metrics import Metrics
from serve.request import EmbeddingRequest, request_model, validation_error


@dataclass(frozen=True)
class ServerSettings:
    max_body_bytes: int = 1 << 20
    max_items: int = 256
    max_chars: int = 8192
    api_key: str | None = None
    max_batch: int = 64
    max_wait_ms: float = 0.0  # see serve.batcher
    max_queue: int = 1024
    model_name: str | None = None


def _encode_vector(vector: np.ndarray, fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


def _authorized(request: Request, api_key: str | None) -> bool:
    if api_key is None:
        return True
    header = request.headers.get("authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {api_key}".encode())


def _error_handlers(app: FastAPI, metrics: Metrics, settings: ServerSettings, dim: int) -> None:
    """Every error in OpenAI's shape, FastAPI's own validation errors and HTTP errors included."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("invalid_request").inc()
        return validation_error(list(exc.errors()), settings.max_items, settings.max_chars, dim)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), "http_error", headers=getattr(exc, "headers", None))


def _service_routes(app: FastAPI, embedder: Embedder, settings: ServerSettings, metrics: Metrics,
                    model_name: str) -> None:
    """``GET /health``, ``/info`` and ``/metrics``."""

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info", response_model=None, responses=documented(401))
    async def info(request: Request) -> JSONResponse | dict[str, Any]:
        if not _authorized(request, settings.api_key):
            return error(401, "missing or wrong API key", "invalid_api_key")
        versions = {p: metadata.version(p) for p in ("st-compress", "onnxruntime", "tokenizers", "numpy")}
        return {"model": model_name, "dims": embedder.dim, "prompts": embedder.prompts.to_dict(),
                "target": embedder.target, "file": embedder.file, "runtime": embedder.runtime,
                "runtime_reason": embedder.runtime_reason, "batch_invariant": embedder.batch_invariant,
                "max_length": embedder.max_length, "threads": embedder.threads, "versions": versions,
                "limits": {"max_body_bytes": settings.max_body_bytes, "max_items": settings.max_items,
                           "max_chars": settings.max_chars}}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def create_app(embedder: Embedder, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    metrics = Metrics()
    batcher = MicroBatcher(embedder.encode, settings.max_batch, settings.max_wait_ms, settings.max_queue,
                           on_batch=metrics.batch.observe, combine=embedder.batch_invariant)
    model_name = settings.model_name or embedder.artifact_dir.name

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.stop()  # in-flight requests finish before the worker stops

    app = FastAPI(title="st-compress embeddings", lifespan=lifespan)
    app.state.batcher = batcher
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       on_reject=metrics.errors.labels("body_too_large").inc)
    _error_handlers(app, metrics, settings, embedder.dim)
    body_model = request_model(settings.max_items, settings.max_chars, embedder.dim)

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Response:
        start = time.perf_counter()
        response: Response = await call_next(request)
        metrics.requests.labels(request.url.path, str(response.status_code)).inc()
        metrics.latency.labels(request.url.path).observe(time.perf_counter() - start)
        return response

    async def embeddings(body: EmbeddingRequest, request: Request) -> JSONResponse | dict[str, Any]:
        if not _authorized(request, settings.api_key):
            metrics.errors.labels("unauthorized").inc()
            return error(401, "missing or wrong API key", "invalid_api_key")
        # valid: the limits, and valid Unicode, are checked by the schema; then the model's prompt, if any
        texts = embedder.prompts.apply(body.texts(), body.input_type)
        try:
            vectors = await batcher.submit(texts)
        except QueueFull as exc:
            metrics.errors.labels("queue_full").inc()
            return error(503, f"server busy: {exc}", "overloaded", headers={"Retry-After": "1"})
        tokens = sum(embedder.token_counts(texts))
        metrics.tokens.inc(tokens)
        data = [{"object": "embedding", "index": i, "embedding": _encode_vector(v, body.encoding_format)}
                for i, v in enumerate(vectors)]
        return {"object": "list", "data": data, "model": body.model or model_name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    embeddings.__annotations__["body"] = body_model  # this app's limits, in its OpenAPI spec too
    app.post("/v1/embeddings", response_model=None, responses=documented(400, 401, 413, 422, 503))(embeddings)

    _service_routes(app, embedder, settings, metrics, model_name)
    return app
