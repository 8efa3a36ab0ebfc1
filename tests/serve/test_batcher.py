"""The micro-batcher takes what is already waiting, without a fixed wait."""

from __future__ import annotations

import asyncio

import numpy as np

from serve.app import ServerSettings
from serve.batcher import MicroBatcher


def test_requests_already_waiting_run_as_one_batch_without_a_wait() -> None:
    calls: list[int] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.arange(len(texts), dtype=np.float32)[:, None]

    batcher = MicroBatcher(encode)  # the server's default: no wait for more after the first request
    assert batcher.max_wait == 0 and ServerSettings().max_wait_ms == 0

    async def run() -> list[np.ndarray]:
        await batcher.start()
        together = await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b", "c"]))
        alone = await batcher.submit(["d"])
        await batcher.stop()
        return [*together, alone]

    first, second, alone = asyncio.run(run())
    assert calls == [3, 1]  # both waiting requests in one batch; the lone one at once, on its own
    assert first.ravel().tolist() == [0.0] and second.ravel().tolist() == [1.0, 2.0] and alone.ravel().tolist() == [0.0]
