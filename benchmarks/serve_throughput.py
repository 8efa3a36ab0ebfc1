"""Server throughput and latency at concurrency 1, 8 and 32, against direct ``Embedder.encode`` calls.

Reproduce (from the repo root; needs an artifact from compress export, e.g. the export benchmark's):
    .venv/bin/python benchmarks/serve_throughput.py runs/bench-export/all-MiniLM-L6-v2/artifact --data ../shared/data

The server runs as its own process (``compress serve``) on 127.0.0.1; the load generator is this process.
Both share the machine's cores, as they would on a small device. Writes benchmarks/results/serve_throughput.*.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.data import load_corpus
from serve.embedder import Embedder

RESULTS = results_dir(__file__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def direct(embedder: Embedder, sentences: list[str], requests: int) -> dict[str, float]:
    times = []
    for i in range(requests):
        start = time.perf_counter()
        embedder.encode([sentences[i % len(sentences)]])
        times.append(time.perf_counter() - start)
    return {"requests_per_s": requests / sum(times), "p50_ms": 1000 * float(np.percentile(times, 50)),
            "p99_ms": 1000 * float(np.percentile(times, 99))}


async def load(url: str, sentences: list[str], concurrency: int, requests: int) -> dict[str, float]:
    times: list[float] = []
    counter = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            start = time.perf_counter()
            reply = await client.post(url, json={"input": [sentences[i % len(sentences)]]})
            reply.raise_for_status()
            times.append(time.perf_counter() - start)

    async with httpx.AsyncClient(timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
        wall = time.perf_counter() - start
    return {"requests_per_s": requests / wall, "p50_ms": 1000 * float(np.percentile(times, 50)),
            "p99_ms": 1000 * float(np.percentile(times, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", type=Path)
    add_data_argument(parser)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    corpus = load_corpus(Path(args.data) / "corpus" / "sentences.txt.gz", max_sentences=5000, validation=500)
    sentences = corpus.validation
    embedder = Embedder(args.artifact, threads=args.threads)
    rows: list[dict[str, Any]] = [{"mode": "direct Embedder.encode", "concurrency": 1,
                                   **direct(embedder, sentences, args.requests)}]
    port = free_port()
    cmd = [sys.executable, "-m", "compress", "serve", str(args.artifact), "--port", str(port)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    server = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for concurrency in (1, 8, 32):
            stats = asyncio.run(load(f"{url}/v1/embeddings", sentences, concurrency, args.requests))
            rows.append({"mode": "HTTP server", "concurrency": concurrency, **stats})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    command = command_line(__file__)
    info = {"artifact": str(args.artifact), "file": embedder.file, "threads": embedder.threads,
            "cpus": os.cpu_count(), "requests_per_setting": args.requests}
    lines = ["# Serving benchmark: HTTP server vs direct Embedder calls", "", f"Command: `{command}`", "",
             f"Artifact file {embedder.file}, onnxruntime threads {embedder.threads}, {os.cpu_count()} cores shared "
             f"by server and load generator; one sentence per request, {args.requests} requests per row.", "",
             "| mode | concurrency | requests/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['mode']} | {r['concurrency']} | {r['requests_per_s']:.1f} | {r['p50_ms']:.2f} "
              f"| {r['p99_ms']:.2f} |" for r in rows]
    doc = {"command": command, "setup": info, "rows": rows}
    write_results(RESULTS, "serve_throughput", doc, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
