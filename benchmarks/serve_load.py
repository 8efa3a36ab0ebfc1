"""The server under load: concurrent clients against ``compress serve`` for each model, side by side.

Reproduce (from the repo root; the release of ``compress run`` and all-MiniLM-L6-v2 exported by ``compress export``):
    MINILM=$(.venv/bin/python -c 'from compress.models import minilm_path; print(minilm_path())')
    .venv/bin/compress export "$MINILM" runs/minilm-artifact --targets avx512_vnni,avx2
    .venv/bin/python benchmarks/serve_load.py --model release=runs/release --model MiniLM-L6=runs/minilm-artifact

Each model is served by its own ``compress serve`` process on 127.0.0.1 (its defaults: micro-batching of concurrent
requests where the file is batch-invariant); this process is the load generator, on the same cores, as on a small
server. Per round and concurrency (1, 8, 32) the models take turns, so drifting machine speed hits them alike; a row
is the median of the rounds. Every ``--bad-every``-th request is a bad one (an empty input list, an item over the
length limit, a number for the input, broken JSON), in turn: each must get a 4xx, and no good request may fail.
Writes benchmarks/results/serve_load.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.data import load_corpus
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)
CONCURRENCY = (1, 8, 32)
BAD = (b'{"input": []}', b'{"input": ["' + b"x" * 9000 + b'"]}', b'{"input": 5}', b'{"input": ["unclosed')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(label: str, artifact: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, Any]]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "compress", "--quiet", "serve", str(artifact), "--port",
                               str(port)], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            return server, url, httpx.get(f"{url}/info").json()
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"{label}: compress serve {artifact} did not answer in 60 s")


async def load(url: str, sentences: list[str], concurrency: int, requests: int, bad_every: int) -> dict[str, Any]:
    times: list[float] = []
    failed_good, refused_bad, accepted_bad = 0, 0, 0
    counter = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failed_good, refused_bad, accepted_bad
        for i in counter:
            bad = bad_every > 0 and i % bad_every == bad_every - 1
            body = BAD[(i // bad_every) % len(BAD)] if bad else json.dumps(
                {"input": [sentences[i % len(sentences)]]}).encode()
            start = time.perf_counter()
            reply = await client.post(f"{url}/v1/embeddings", content=body,
                                      headers={"Content-Type": "application/json"})
            if bad:
                refused_bad += 400 <= reply.status_code < 500
                accepted_bad += reply.status_code < 400
            elif reply.status_code != 200:
                failed_good += 1
            else:
                times.append(time.perf_counter() - start)

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=concurrency)) as client:
        began = time.perf_counter()
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
        wall = time.perf_counter() - began
    return {"good_per_s": len(times) / wall, "p50_ms": 1000 * float(np.percentile(times, 50)),
            "p99_ms": 1000 * float(np.percentile(times, 99)), "good_failed": failed_good,
            "bad_refused": refused_bad, "bad_accepted": accepted_bad}


def measure(models: dict[str, Path], sentences: list[str], args: argparse.Namespace) -> dict[str, Any]:
    servers = {label: start(label, path) for label, path in models.items()}
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {label: {c: [] for c in CONCURRENCY} for label in models}
    try:
        for _, url, _ in servers.values():  # warm-up: the first calls load and compile
            asyncio.run(load(url, sentences, 8, 64, 0))
        for round_ in range(args.rounds):
            for concurrency in CONCURRENCY:
                order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
                for label in order:
                    stats = asyncio.run(load(servers[label][1], sentences, concurrency, args.requests,
                                             args.bad_every))
                    runs[label][concurrency].append(stats)
                    print(json.dumps({"model": label, "round": round_, "concurrency": concurrency, **stats}),
                          file=sys.stderr, flush=True)
    finally:
        for server, _, _ in servers.values():
            server.terminate()
            server.wait(timeout=60)
    rows = []
    for label, by_concurrency in runs.items():
        info = servers[label][2]
        for concurrency, done in by_concurrency.items():
            medians = {k: statistics.median(float(run[k]) for run in done) for k in ("good_per_s", "p50_ms", "p99_ms")}
            totals = {k: sum(int(run[k]) for run in done) for k in ("good_failed", "bad_refused", "bad_accepted")}
            rows.append({"model": label, "artifact": str(models[label]), "file": info["file"],
                         "runtime": info["runtime"], "batch_invariant": info["batch_invariant"],
                         "threads": info.get("threads"), "concurrency": concurrency, **medians, **totals})
    return {"rows": rows}


def ratios(rows: list[dict[str, Any]], against: str) -> list[dict[str, Any]]:
    """Each model's requests/s and p99 over the ``against`` model's, per concurrency."""
    base = {r["concurrency"]: r for r in rows if r["model"] == against}
    return [{"model": r["model"], "concurrency": r["concurrency"],
             "throughput_ratio": r["good_per_s"] / base[r["concurrency"]]["good_per_s"],
             "p99_ratio": r["p99_ms"] / base[r["concurrency"]]["p99_ms"]}
            for r in rows if r["model"] != against and r["concurrency"] in base]


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# The server under load", "", f"Command: `{doc['command']}`", "", machine_line(doc["machine"]), "",
             f"One `compress serve` process per model, one sentence per good request, {doc['requests']} requests "
             f"per row and round (every {doc['bad_every']}th a bad one), median of {doc['rounds']} rounds in turn; "
             "the load generator shares the cores.", "",
             "| model | file | runtime | micro-batching | concurrency | good requests/s | p50 ms | p99 ms "
             "| good failed | bad refused (4xx) | bad accepted |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | `{r['file']}` | {r['runtime']} | {'on' if r['batch_invariant'] else 'off'} | "
              f"{r['concurrency']} | {r['good_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['good_failed']} | {r['bad_refused']} | {r['bad_accepted']} |" for r in doc["rows"]]
    if doc.get("ratios"):
        lines += ["", f"Against {doc['against']}:", "", "| model | concurrency | requests/s ratio | p99 ratio |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {r['model']} | {r['concurrency']} | {r['throughput_ratio']:.2f}x | {r['p99_ratio']:.2f}x |"
                  for r in doc["ratios"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="LABEL=ARTIFACT",
                        help="a label and an artifact or release folder (repeat; the last is the reference)")
    add_data_argument(parser)
    parser.add_argument("--requests", type=int, default=400, help="requests per row and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bad-every", type=int, default=10, help="every Nth request is a bad one (0: none)")
    parser.add_argument("--name", default="serve_load", help="the results files' name")
    args = parser.parse_args()
    models = {}
    for spec in args.model:
        label, _, path = spec.partition("=")
        if not path or not (Path(path) / "manifest.json").is_file():
            parser.error(f"--model {spec!r}: give LABEL=FOLDER, a folder written by compress export or compress run")
        models[label] = Path(path)
    corpus_file = args.data / "corpus" / "sentences.txt.gz"
    if not corpus_file.is_file():
        parser.error(f"--data {args.data}: no corpus/sentences.txt.gz there")
    sentences = load_corpus(corpus_file, max_sentences=5000, validation=500).validation
    doc: dict[str, Any] = {"command": command_line(__file__), "machine": machine_info(), "requests": args.requests,
                           "rounds": args.rounds, "bad_every": args.bad_every,
                           **measure(models, sentences, args)}
    doc["against"] = list(models)[-1]
    doc["ratios"] = ratios(doc["rows"], doc["against"])
    write_results(RESULTS, args.name, doc, markdown(doc))
    print(json.dumps(doc["ratios"], indent=1))


if __name__ == "__main__":
    main()
