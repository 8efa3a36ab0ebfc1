"""Prometheus metrics of the server, on a registry of its own (one per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("embed_requests_total", "Requests by path and status", ["path", "status"], registry=r)
        self.errors = Counter("embed_errors_total", "Error answers by reason", ["reason"], registry=r)
        self.latency = Histogram("embed_request_seconds", "Request latency", ["path"], registry=r,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.batch = Histogram("embed_batch_size", "Texts per encoded micro-batch", registry=r,
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.tokens = Counter("embed_tokens_total", "Tokens embedded", registry=r)
