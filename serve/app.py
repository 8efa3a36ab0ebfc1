"""The HTTP server: FastAPI on uvicorn, OpenAI-compatible ``POST /v1/embeddings``, health, info and metrics."""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from serve.batcher import MicroBatcher, QueueFull
from serve.embedder import Embedder
from serve.limits import BodyLimit, documented, error
from serve.metrics import Metrics


@dataclass(frozen=True)
class ServerSettings:
    max_body_bytes: int = 1 << 20
    max_items: int = 256
    max_chars: int = 8192
    api_key: str | None = None
    max_batch: int = 64
    max_wait_ms: float = 5.0
    max_queue: int = 1024
    model_name: str | None = None


class EmbeddingRequest(BaseModel):
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="A text or a list of texts. Token-id arrays are in OpenAI's schema but not accepted here "
                    "(the ids of another tokenizer mean nothing to this model): they get 422, send the text.")
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, description="If given, must equal the model's dimension.")
    user: str | None = None

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else [t for t in self.input if isinstance(t, str)]

    def has_token_ids(self) -> bool:
        return not isinstance(self.input, str) and any(not isinstance(t, str) for t in self.input)


def _not_unicode(texts: list[str]) -> int | None:
    """The first text that cannot be encoded as UTF-8 (a lone surrogate such as \\ud800 is valid JSON)."""
    for index, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return index
    return None


def _check_limits(body: EmbeddingRequest, settings: ServerSettings, dim: int) -> JSONResponse | None:
    if body.has_token_ids():
        return error(422, "token-id arrays are not accepted: send the text itself", "token_ids_not_supported",
                     param="input")
    texts = body.texts()
    if (bad := _not_unicode(texts)) is not None:
        return error(422, f"input[{bad}] is not valid Unicode text (it holds a lone surrogate)", "invalid_text",
                     param="input")
    if not texts:
        return error(422, "input must hold at least one string", "empty_input", param="input")
    if len(texts) > settings.max_items:
        return error(422, f"input has {len(texts)} items; the limit is {settings.max_items} (max_items)",
                     "too_many_items", param="input", limit=settings.max_items)
    longest = max(len(t) for t in texts)
    if longest > settings.max_chars:
        return error(422, f"an input item has {longest} characters; the limit is {settings.max_chars} (max_chars)",
                     "item_too_long", param="input", limit=settings.max_chars)
    if body.dimensions is not None and body.dimensions != dim:
        return error(422, f"this model returns {dim} dimensions", "unsupported_dimensions", param="dimensions")
    return None


def _encode_vector(vector: np.ndarray, fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


def _authorized(request: Request, api_key: str | None) -> bool:
    if api_key is None:
        return True
    header = request.headers.get("authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {api_key}".encode())


def _error_handlers(app: FastAPI, metrics: Metrics) -> None:
    """Every error in OpenAI's shape, FastAPI's own validation errors and HTTP errors included."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("invalid_request").inc()
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        message = f"{param}: {first.get('msg', 'invalid request')}" if param else first.get("msg", "invalid request")
        return error(422, message, "invalid_request", param=param)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), "http_error", headers=getattr(exc, "headers", None))


def create_app(embedder: Embedder, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    metrics = Metrics()
    batcher = MicroBatcher(embedder.encode, settings.max_batch, settings.max_wait_ms, settings.max_queue,
                           on_batch=metrics.batch.observe)
    model_name = settings.model_name or embedder.artifact_dir.name

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.stop()  # in-flight requests finish before the worker stops

    app = FastAPI(title="st-compress embeddings", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       on_reject=metrics.errors.labels("body_too_large").inc)
    _error_handlers(app, metrics)

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Response:
        start = time.perf_counter()
        response: Response = await call_next(request)
        metrics.requests.labels(request.url.path, str(response.status_code)).inc()
        metrics.latency.labels(request.url.path).observe(time.perf_counter() - start)
        return response

    @app.post("/v1/embeddings", response_model=None, responses=documented(400, 401, 413, 422, 503))
    async def embeddings(body: EmbeddingRequest, request: Request) -> JSONResponse | dict[str, Any]:
        if not _authorized(request, settings.api_key):
            metrics.errors.labels("unauthorized").inc()
            return error(401, "missing or wrong API key", "invalid_api_key")
        if (problem := _check_limits(body, settings, embedder.dim)) is not None:
            metrics.errors.labels("limit").inc()
            return problem
        texts = body.texts()
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

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info", response_model=None, responses=documented(401))
    async def info(request: Request) -> JSONResponse | dict[str, Any]:
        if not _authorized(request, settings.api_key):
            return error(401, "missing or wrong API key", "invalid_api_key")
        versions = {p: metadata.version(p) for p in ("st-compress", "onnxruntime", "tokenizers", "numpy")}
        return {"model": model_name, "dims": embedder.dim, "target": embedder.target, "file": embedder.file,
                "max_length": embedder.max_length, "threads": embedder.threads, "versions": versions,
                "limits": {"max_body_bytes": settings.max_body_bytes, "max_items": settings.max_items,
                           "max_chars": settings.max_chars}}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
