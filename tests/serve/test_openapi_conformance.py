"""The server against its own OpenAPI spec, with schemathesis: requests generated from the spec (valid and
invalid) get answers whose status codes, content types and bodies the spec documents, valid ones are accepted,
and none gets a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from serve.app import ServerSettings
from serve.embedder import Embedder
from tests.serve.conftest import start_server

API_KEY = "spec-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_every_answer_is_documented(embedder: Embedder) -> None:
    # the default body limit (1 MiB) holds any body the schema allows (16 items of 200 characters)
    srv, thread, url = start_server(embedder, ServerSettings(max_items=16, max_chars=200, api_key=API_KEY))
    try:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.label for op in operations} >= {"POST /v1/embeddings", "GET /health", "GET /info",
                                                   "GET /metrics"}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=AUTH, timeout=30)

            check()
    finally:
        srv.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)
