"""Error answers in the OpenAI shape, and the request-body size limit (413) as ASGI middleware."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse


def error(status: int, message: str, code: str, param: str | None = None, limit: int | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    if limit is not None:
        body["limit"] = limit
    return JSONResponse({"error": body}, status_code=status, headers=headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 when the declared or the received body is larger than ``max_bytes``."""

    def __init__(self, app: Any, max_bytes: int, on_reject: Callable[[], None] | None = None) -> None:
        self.app, self.max_bytes, self.on_reject = app, max_bytes, on_reject

    async def _reject(self, send: Any) -> None:
        if self.on_reject:
            self.on_reject()
        body = json.dumps({"error": {"message": f"request body is larger than {self.max_bytes} bytes "
                                                f"(max_body_bytes)", "type": "invalid_request_error",
                                     "param": None, "code": "body_too_large", "limit": self.max_bytes}}).encode()
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
        received = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)
