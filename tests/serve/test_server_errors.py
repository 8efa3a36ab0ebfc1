"""Bad requests get a 4xx of their own, in OpenAI's error shape, documented in the OpenAPI spec; one client's
bad text never fails another client's request; a graceful SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests.serve.conftest import API_KEY, Running, serve_process

AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
LONE_SURROGATE = '{"input": ["fine", "\\ud800"]}'  # valid JSON, not valid Unicode text


def _error(reply: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"])  # OpenAI's shape
    if code is not None:
        assert body["error"]["code"] == code
    return dict(body["error"])


def test_a_lone_surrogate_gets_422_on_its_own(server: Running) -> None:
    reply = httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, content=LONE_SURROGATE)
    assert "input[1]" in str(_error(reply, 422, "invalid_text")["message"])


def test_bad_text_never_fails_the_requests_batched_with_it(server: Running) -> None:
    async def one_round() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            good = [client.post(f"{server.url}/v1/embeddings", headers=AUTH, json={"input": [f"a dog {i}."]})
                    for i in range(8)]
            bad = client.post(f"{server.url}/v1/embeddings", headers=AUTH, content=LONE_SURROGATE)
            replies = await asyncio.gather(bad, *good)
            return [r.status_code for r in replies]

    for _ in range(3):
        assert asyncio.run(one_round()) == [422] + [200] * 8


def test_batcher_fails_only_the_request_whose_text_breaks_the_encoder() -> None:
    import numpy as np

    from serve.batcher import MicroBatcher

    def encode(texts: list[str]) -> np.ndarray:
        if "poison" in texts:
            raise TypeError("the tokenizer choked")
        return np.ones((len(texts), 2), dtype=np.float32)

    async def run() -> list[object]:
        batcher = MicroBatcher(encode, max_batch=64, max_wait_ms=50)
        await batcher.start()
        results = await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["poison"]),
                                       batcher.submit(["c"]), return_exceptions=True)
        await batcher.stop()
        return results

    first, second, third = asyncio.run(run())
    assert isinstance(second, TypeError)
    assert getattr(first, "shape", None) == (2, 2) and getattr(third, "shape", None) == (1, 2)


def test_a_chunked_body_over_the_limit_gets_413(server: Running) -> None:
    def chunks():  # no Content-Length: the server only learns the size while reading
        for _ in range(50):
            yield b" " * 100_000

    reply = httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, content=chunks())
    assert _error(reply, 413, "body_too_large")["limit"] == server.settings.max_body_bytes


@pytest.mark.parametrize(("body", "code"), [
    ({"input": [101, 2023, 102]}, "token_ids_not_supported"),
    ({"input": [[101, 2023], [101]]}, "token_ids_not_supported"),
    ({"input": "a", "dimensions": 0}, "unsupported_dimensions"),
    ({"input": ["ok"], "dimensions": 7}, "unsupported_dimensions"),
    ({"input": ["ok", 3]}, "token_ids_not_supported"),
    ({"input": 5}, "invalid_request"),
    ({"inputs": "typo"}, "invalid_request"),
])
def test_invalid_requests_get_openai_shaped_422(server: Running, body: dict[str, object], code: str) -> None:
    _error(httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, json=body), 422, code)


def test_invalid_json_and_unknown_routes_use_the_same_shape(server: Running) -> None:
    _error(httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, content=b"{nope"), 422)
    _error(httpx.get(f"{server.url}/v1/nowhere", headers=AUTH), 404)


def test_the_openapi_spec_documents_every_answer(server: Running) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    post = spec["paths"]["/v1/embeddings"]["post"]
    assert {"200", "400", "401", "413", "422", "503"} <= set(post["responses"])
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    body = spec["components"]["schemas"]["EmbeddingRequest"]["properties"]
    only = body["dimensions"]["anyOf"][0]
    assert only.get("const", (only.get("enum") or [None])[0]) == server.embedder.dim  # 0, 7, ...: refused, as said
    text, texts = body["input"]["anyOf"]
    assert text["maxLength"] == server.settings.max_chars
    assert (texts["minItems"], texts["maxItems"]) == (1, server.settings.max_items)
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in metrics
    assert "401" in spec["paths"]["/info"]["get"]["responses"]


def test_sigterm_shuts_down_gracefully_and_exits_0(exported) -> None:
    with serve_process(exported.out_dir) as (proc, url):
        assert httpx.post(f"{url}/v1/embeddings", json={"input": "hi"}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
