"""A closed-form refit of a trained student's projection (``student.refit``).

Training moves the encoder and the projection together, a step at a time, on batches. Once the encoder is final, the
projection that best maps its pooled vectors onto the teacher's is a least-squares solve over every training text:
one pass of the student, no more teacher work. It is kept only when the held-back cosine it is judged by rises, so it
can never make a release worse on the number that chose its checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from compress.distill.students.pretrained import fit_linear_map
from compress.metrics import fidelity

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

REFIT_BATCH = 64


@dataclass(frozen=True)
class HeldBack:
    """The texts a refit is judged on, their teacher vectors, and what they are (``validation.<name>``)."""

    name: str
    texts: list[str]
    targets: np.ndarray


@dataclass(frozen=True)
class Refit:
    judged_on: str  # "sentences" or "queries": the held-back texts whose cosine decides
    before: float  # held-back cosine to the teacher with the trained projection
    after: float  # ... with the refit one
    kept: bool
    texts: int  # training texts the projection was solved on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split(student: SentenceTransformer) -> tuple[list[Any], Any] | None:
    """The modules before the projection and the projection (a Dense layer, last but for a Normalize); None when
    the student ends in no projection."""
    modules = list(student)
    body = modules[:-1] if modules and type(modules[-1]).__name__ == "Normalize" else modules
    if not body or type(body[-1]).__name__ != "Dense":
        return None
    return body[:-1], body[-1]


def refit_projection(student: SentenceTransformer, texts: list[str], targets: np.ndarray,
                     held_back: HeldBack) -> Refit | None:
    """Solve the projection on (``texts``' pooled student vectors, ``targets``), judge both projections on
    ``held_back``, and keep the better one in ``student`` (in place). None when the student has no projection."""
    import torch
    from sentence_transformers import SentenceTransformer

    parts = _split(student)
    if parts is None:
        log.info("student.refit: the student ends in no projection (same dimension as the teacher); nothing to refit")
        return None
    modules, dense = parts
    encoder = SentenceTransformer(modules=modules, device=str(student.device))
    encoder.max_seq_length = student.max_seq_length
    log.info("student.refit: solving the projection on %d training texts", len(texts))
    pooled = encoder.encode(texts, batch_size=REFIT_BATCH, convert_to_numpy=True, show_progress_bar=False)
    weight, bias = fit_linear_map(pooled, np.asarray(targets, dtype=np.float32))
    held = encoder.encode(held_back.texts, batch_size=REFIT_BATCH, convert_to_numpy=True, show_progress_bar=False)
    linear = dense.linear
    if not isinstance(dense.activation_function, torch.nn.Identity) or linear.bias is None:
        log.info("student.refit: the projection is not a plain linear layer with a bias; left as trained")
        return None
    old_w, old_b = (p.detach().cpu().float().numpy() for p in (linear.weight, linear.bias))
    before = fidelity(held @ old_w.T + old_b, held_back.targets)["cosine"]  # cosines: unit length or not alike
    after = fidelity(held @ weight.T + bias, held_back.targets)["cosine"]
    kept = after > before
    if kept:
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight).to(linear.weight))
            linear.bias.copy_(torch.from_numpy(bias).to(linear.bias))
    log.info("student.refit: held-back %s cosine %.4f trained, %.4f refit: %s", held_back.name, before, after,
             "refit kept" if kept else "trained projection kept")
    return Refit(held_back.name, before, after, kept, len(texts))
