"""Build the configured student from the teacher and a sample of the teacher's cached embeddings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compress.config import MatchKind, StudentConfig, StudentKind
from compress.distill.students.pca import Pca
from compress.distill.students.pretrained import add_projection
from compress.distill.students.pruned import evenly_spread, find_layer_list, prune_ffn, prune_layers
from compress.distill.students.static import static_from_teacher
from compress.models import backbone, has_normalize, load_sentence_transformer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

FIT_SAMPLE = 4096
FFN_SAMPLE = 256  # training sentences whose activations rank the feed-forward neurons (student.ffn_size)


@dataclass(frozen=True)
class BuiltStudent:
    model: SentenceTransformer
    pca: Pca | None
    description: str
    teacher_layers: list[int] | None = None  # pruned: the teacher block each student block was copied from


def build_student(config: StudentConfig, teacher: SentenceTransformer, sentences: list[str],
                  targets: np.ndarray, trust_remote_code: bool = False) -> BuiltStudent:
    """``sentences``/``targets``: training sentences and their teacher embeddings (a sample is used to fit)."""
    if config.kind is StudentKind.PRUNED:
        total = len(find_layer_list(backbone(teacher)))
        keep = list(config.keep_layers) if config.keep_layers else evenly_spread(total, config.num_layers)
        log.info("pruned student: keeping teacher layers %s of %d", keep, total)
        student, description = prune_layers(teacher, keep), f"pruned teacher, layers {keep}"
        if config.ffn_size:
            log.info("pruned student: keeping %d feed-forward neurons per block", config.ffn_size)
            student = prune_ffn(student, sentences[:FFN_SAMPLE], config.ffn_size)
            description += f", {config.ffn_size} feed-forward neurons per block"
        return BuiltStudent(student, None, description, keep)
    if config.kind is StudentKind.STATIC:
        student, name = static_from_teacher(teacher, config.static_dims), "model2vec static"
        return _match(student, name, config, teacher, sentences, targets)
    student = load_sentence_transformer(config.model, device=str(teacher.device),
                                        trust_remote_code=trust_remote_code)
    if config.keep_layers:  # a shallower copy of the pretrained encoder: fewer layers, lower latency
        log.info("pretrained student: keeping layers %s of %s", config.keep_layers, config.model)
        student = prune_layers(student, list(config.keep_layers))
    return _match(student, config.model, config, teacher, sentences, targets)


def _match(student: SentenceTransformer, name: str, config: StudentConfig, teacher: SentenceTransformer,
           sentences: list[str], targets: np.ndarray) -> BuiltStudent:
    """Bring the student's output to the teacher's space: as it is, by PCA of the targets, or by a projection."""
    student_dim = student.get_embedding_dimension() or 0
    teacher_dim = targets.shape[1]
    if student_dim == teacher_dim:
        return BuiltStudent(student, None, f"{name} (same dimension as the teacher)")
    sample = min(len(sentences), FIT_SAMPLE)
    if config.match is MatchKind.PCA:
        pca = Pca.fit(np.asarray(targets[:sample]), student_dim)
        log.info("PCA %d -> %d keeps %.1f%% of the teacher's variance", teacher_dim, student_dim,
                 100 * pca.explained_variance_ratio)
        return BuiltStudent(student, pca, f"{name}, teacher reduced by PCA to {student_dim}")
    projected = add_projection(student, sentences[:sample], np.asarray(targets[:sample]), has_normalize(teacher))
    return BuiltStudent(projected, None, f"{name} + projection {student_dim}->{teacher_dim}")
