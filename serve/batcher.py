"""Micro-batching: concurrent requests are encoded together, with a bounded queue.

The worker takes every request already waiting (up to ``max_batch`` texts) the moment it is free: a lone request
runs at once, and under load the requests that arrived while a batch was encoding form the next one. ``max_wait_ms``
(0 by default) makes it wait that long for more after the first, which a lone client pays on every request.

Only for a batch-invariant model file (``combine``): with dynamic int8, a text's vector depends on what it is
batched with, so each request is then encoded on its own (one client's vectors never depend on another's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class QueueFull(Exception):
    """More texts are waiting than the queue allows: the caller answers 503."""


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[np.ndarray] = field(repr=False)


class MicroBatcher:
    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 64, max_wait_ms: float = 0.0,
                 max_queue: int = 1024, on_batch: Callable[[int], None] | None = None, combine: bool = True) -> None:
        self.encode, self.max_batch, self.max_wait, self.combine = encode, max_batch, max_wait_ms / 1000, combine
        self.max_queue, self.on_batch = max_queue, on_batch
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.waiting = 0  # texts queued, not yet taken by the worker
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish every queued job, then stop (graceful shutdown)."""
        await self.queue.join()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, texts: list[str]) -> np.ndarray:
        if self.waiting + len(texts) > self.max_queue:
            raise QueueFull(f"{self.waiting} texts are queued (limit {self.max_queue})")
        job = _Job(texts, asyncio.get_running_loop().create_future())
        self.waiting += len(texts)
        await self.queue.put(job)
        return await job.future

    async def _collect(self) -> list[_Job]:
        jobs = [await self.queue.get()]
        if not self.combine:
            return jobs
        size = len(jobs[0].texts)
        while size < self.max_batch and not self.queue.empty():  # those already waiting, without a wait
            jobs.append(self.queue.get_nowait())
            size += len(jobs[-1].texts)
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while size < self.max_batch:
            timeout = deadline - asyncio.get_running_loop().time()
            if timeout <= 0:
                break
            try:
                job = await asyncio.wait_for(self.queue.get(), timeout)
            except TimeoutError:
                break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            texts = [t for job in jobs for t in job.texts]
            self.waiting -= len(texts)
            try:
                vectors = await asyncio.to_thread(self.encode, texts)
            except Exception:  # one request's bad text must not fail the others: each alone, then
                await self._one_by_one(jobs)
            else:
                if self.on_batch:
                    self.on_batch(len(texts))
                start = 0
                for job in jobs:
                    job.future.set_result(vectors[start:start + len(job.texts)])
                    start += len(job.texts)
            for _ in jobs:
                self.queue.task_done()

    async def _one_by_one(self, jobs: list[_Job]) -> None:
        """After a failed batch: encode each request alone, so only the one that fails gets the error."""
        for job in jobs:
            try:
                job.future.set_result(await asyncio.to_thread(self.encode, job.texts))
            except Exception as exc:
                job.future.set_exception(exc)
