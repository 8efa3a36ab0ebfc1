"""Error answers in OpenAI's shape (``{"error": {...}}``) for every failure, and the request-body size limit
(413) as ASGI middleware that holds the body back until it is known to fit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
         405: "invalid_request_error", 413: "invalid_request_error", 422: "invalid_request_error",
         503: "server_overloaded"}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    limit: int | None = None


class ErrorResponse(BaseModel):
    """Every non-2xx answer of the server."""

    error: ErrorDetail


def error_body(status: int, message: str, code: str, param: str | None = None,
               limit: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "type": TYPES.get(status, "api_error"), "param": param,
                            "code": code}
    if limit is not None:
        body["limit"] = limit
    return {"error": body}


def error(status: int, message: str, code: str, param: str | None = None, limit: int | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param, limit), status_code=status, headers=headers)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with the ``ErrorResponse`` body."""
    what = {400: "Malformed request", 401: "Missing or wrong API key", 413: "Request body too large",
            422: "Invalid request (a field, a limit, or text that is not valid Unicode)",
            503: "Server busy: too many queued texts"}
    return {status: {"model": ErrorResponse, "description": what[status]} for status in statuses}


class BodyLimit:
    """Answer 413 when the declared or the received body is larger than ``max_bytes``. The body is read whole
    (it is at most ``max_bytes``) before the app sees it, so a chunked upload that grows too large gets 413
    too, not a parse error."""

    def __init__(self, app: Any, max_bytes: int, on_reject: Callable[[], None] | None = None) -> None:
        self.app, self.max_bytes, self.on_reject = app, max_bytes, on_reject

    async def _reject(self, send: Any) -> None:
        if self.on_reject:
            self.on_reject()
        body = json.dumps(error_body(413, f"request body is larger than {self.max_bytes} bytes (max_body_bytes)",
                                     "body_too_large", limit=self.max_bytes)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._reject(send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
