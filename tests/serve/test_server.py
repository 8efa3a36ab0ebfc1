from __future__ import annotations

import asyncio
import base64

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compress.metrics import cosines
from tests.conftest import make_sentences
from tests.serve.conftest import API_KEY, Running

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_openai_client_gets_what_embedder_encodes(server: Running) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY)
    texts = make_sentences(5, seed=30)
    reply = client.embeddings.create(model="my-model", input=texts)
    got = np.array([d.embedding for d in reply.data], dtype=np.float32)
    assert reply.model == "my-model" and [d.index for d in reply.data] == list(range(5))
    assert cosines(got, server.embedder.encode(texts)).min() >= 0.99999
    assert reply.usage.prompt_tokens == sum(server.embedder.token_counts(texts))
    single = client.embeddings.create(model="m", input="just one", encoding_format="float")
    assert len(single.data) == 1 and len(single.data[0].embedding) == server.embedder.dim


def test_base64_encoding(server: Running) -> None:
    body = httpx.post(f"{server.url}/v1/embeddings", headers=AUTH,
                      json={"input": ["a dog."], "encoding_format": "base64"}).json()
    vector = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    assert cosines(vector[None], server.embedder.encode(["a dog."])).min() >= 0.99999


def test_64_concurrent_requests_all_succeed(server: Running) -> None:
    texts = make_sentences(64, seed=31)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*[client.post(f"{server.url}/v1/embeddings", headers=AUTH,
                                                      json={"input": [t]}) for t in texts])

    replies = asyncio.run(run())
    assert [r.status_code for r in replies] == [200] * 64
    got = np.array([r.json()["data"][0]["embedding"] for r in replies], dtype=np.float32)
    assert cosines(got, server.embedder.encode(texts)).min() >= 0.9999
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "embed_batch_size_count" in metrics and 'embed_requests_total{path="/v1/embeddings",status="200"}' in metrics


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"input": ["x"] * 17}, 422, "too_many_items"),
    ({"input": "y" * 201}, 422, "item_too_long"),
    ({"input": []}, 422, "empty_input"),
    ({"input": ["ok"], "dimensions": 7}, 422, "unsupported_dimensions"),
])
def test_limits_answer_422_naming_the_limit(server: Running, body: dict, status: int, code: str) -> None:
    reply = httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, json=body)
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code


def test_body_too_large_is_413(server: Running) -> None:
    reply = httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, json={"input": ["z" * 150] * 200})
    assert reply.status_code == 413 and reply.json()["error"]["limit"] == 20_000


def test_api_key(server: Running) -> None:
    assert httpx.post(f"{server.url}/v1/embeddings", json={"input": "a"}).status_code == 401
    wrong = httpx.post(f"{server.url}/v1/embeddings", json={"input": "a"}, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    info = httpx.get(f"{server.url}/info", headers=AUTH).json()
    assert info["dims"] == 32 and info["target"] == server.embedder.target and info["versions"]["onnxruntime"]


def test_full_queue_answers_503_quickly(exported) -> None:
    from serve.app import ServerSettings
    from serve.embedder import Embedder
    from tests.serve.conftest import slowed, start_server

    embedder = slowed(Embedder(exported.out_dir), 0.3)
    srv, thread, url = start_server(embedder, ServerSettings(max_queue=4, max_batch=2))

    async def run() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            replies = await asyncio.gather(*[client.post(f"{url}/v1/embeddings", json={"input": ["a", "b"]})
                                             for _ in range(12)])
            return [r.status_code for r in replies]

    codes = asyncio.run(run())
    srv.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=30)
    assert 503 in codes and 200 in codes and set(codes) <= {200, 503}


scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)
bodies = st.fixed_dictionaries({}, optional={"input": json_values, "model": json_values,
                                             "encoding_format": st.sampled_from(["float", "base64", "int8", 3]),
                                             "dimensions": json_values, "user": json_values}) | json_values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_fuzzed_requests_never_get_5xx(server: Running, body: object) -> None:
    reply = httpx.post(f"{server.url}/v1/embeddings", headers=AUTH, json=body)
    assert reply.status_code < 500, reply.text


def test_graceful_shutdown_lets_in_flight_requests_finish(exported) -> None:
    import threading
    import time

    from serve.app import ServerSettings
    from serve.embedder import Embedder
    from tests.serve.conftest import slowed, start_server

    embedder = slowed(Embedder(exported.out_dir), 1.0)
    srv, thread, url = start_server(embedder, ServerSettings())
    replies: list[httpx.Response] = []
    client = threading.Thread(target=lambda: replies.append(
        httpx.post(f"{url}/v1/embeddings", json={"input": ["still served"]}, timeout=30)))
    client.start()
    time.sleep(0.3)  # the request is now being encoded
    srv.should_exit = True  # type: ignore[attr-defined]
    client.join(timeout=30)
    thread.join(timeout=30)
    assert replies and replies[0].status_code == 200
    assert len(replies[0].json()["data"][0]["embedding"]) == embedder.dim
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")
