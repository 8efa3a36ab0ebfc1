"""Running under torchrun: which process this is, and the few collectives the pipeline needs.

``torchrun --nproc_per_node N -m compress run ...`` starts N processes with ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` set; a plain ``compress run`` is rank 0 of 1 and none of this starts a process group. The process
group uses NCCL where every rank has a GPU (training through sentence-transformers' trainer, which picks it up),
gloo otherwise; the pipeline's own waits (the teacher cache, rank 0's export and benchmark) go through a gloo
group with a long timeout, since rank 0 may export and benchmark for an hour while the others wait.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

WAIT = timedelta(hours=12)  # how long a rank waits for the others at a barrier


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def ranks() -> Ranks:
    """This process's place, from the variables torchrun sets (rank 0 of 1 without them)."""
    env = os.environ
    return Ranks(int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), int(env.get("LOCAL_RANK", "0")))


@cache
def _control_group() -> Any:
    import torch.distributed as dist

    if not dist.is_initialized():
        import torch

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(ranks().local_rank)
        dist.init_process_group(backend, timeout=WAIT)
        log.info("rank %d of %d: process group up (%s)", ranks().rank, ranks().world, backend)
    return dist.new_group(backend="gloo", timeout=WAIT)


def start() -> Ranks:
    """Join the process group when launched by torchrun; a single process does nothing."""
    here = ranks()
    if here.distributed:
        _control_group()
    return here


def barrier() -> None:
    if ranks().distributed:
        import torch.distributed as dist

        dist.barrier(group=_control_group())


def _broadcast_bytes(blob: bytes) -> bytes:
    import torch
    import torch.distributed as dist

    group = _control_group()
    size = torch.tensor([len(blob)], dtype=torch.int64)
    dist.broadcast(size, src=0, group=group)
    data = torch.frombuffer(bytearray(blob), dtype=torch.uint8) if ranks().main else torch.empty(
        int(size.item()), dtype=torch.uint8)
    dist.broadcast(data, src=0, group=group)
    return bytes(data.numpy())


def from_main(value: Any) -> Any:
    """Rank 0's ``value`` (JSON-able; sent as JSON, never pickled), on every rank."""
    if not ranks().distributed:
        return value
    return json.loads(_broadcast_bytes(json.dumps(value).encode() if ranks().main else b""))


def main_only(work: Callable[[], Any]) -> Any:
    """Run ``work`` on rank 0 while the others wait, and hand its JSON-able result to every rank; when it fails,
    the others exit with the code rank 0 exits with (2 for bad input, 3 otherwise)."""
    if not ranks().distributed:
        return work()
    if ranks().main:
        try:
            value = work()
        except BaseException as exc:
            from_main({"failed": getattr(exc, "exit_code", 3)})
            raise
        return from_main({"value": value})["value"]
    outcome = from_main(None)
    if "failed" in outcome:
        raise SystemExit(int(outcome["failed"]))
    return outcome["value"]


def sync_gradients(parameters: list[Any]) -> None:
    """Average the gradients of parameters DDP does not wrap (a loss's own projections) across ranks; a missing
    gradient counts as zero, so every rank reduces the same tensors."""
    if not ranks().distributed:
        return
    import torch
    import torch.distributed as dist

    world = ranks().world
    for p in parameters:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= world
