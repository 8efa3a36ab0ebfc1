"""The teacher's query/document prompts in distillation: which corpus sentences get which prefix, and handing the
prompts on to the student (so that its artifact, the harness and the server apply the same ones)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from compress.data import Corpus
from export.artifact.prompts import InputType, Prompts, from_config

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


def teacher_prompts(teacher: SentenceTransformer) -> Prompts:
    return from_config({"prompts": dict(getattr(teacher, "prompts", None) or {}),
                        "similarity_fn_name": getattr(teacher, "similarity_fn_name", None)})


def chosen(prompts: Prompts, names: list[str] | None) -> list[str]:
    """The prefixes to distill with: ``names`` (input types), or with none given every input type the teacher
    has a prompt for. Each corpus sentence gets one of them in turn."""
    types = [InputType(n) for n in names] if names is not None else list(InputType)
    return [prompts.of(t) for t in types if prompts.of(t)]


def prompted(corpus: Corpus, prefixes: list[str]) -> Corpus:
    """``corpus`` with sentence i prefixed by ``prefixes[i % len]`` (the teacher embeds, the student learns, the
    texts as the teacher's users would send them)."""
    if not prefixes:
        return corpus

    def apply(sentences: list[str], start: int) -> list[str]:
        return [prefixes[(start + i) % len(prefixes)] + s for i, s in enumerate(sentences)]

    log.info("distilling with the teacher's prompts %s, one per sentence in turn", prefixes)
    n_sentences, n_passages = len(corpus.all), len(corpus.all_passages)
    return Corpus(apply(corpus.train, 0), apply(corpus.validation, len(corpus.train)),
                  apply(corpus.passages, n_sentences), apply(corpus.validation_passages,
                                                             n_sentences + len(corpus.passages)),
                  apply(corpus.queries, n_sentences + n_passages),
                  apply(corpus.validation_queries, n_sentences + n_passages + len(corpus.queries)))


def hand_on(teacher: SentenceTransformer, student: SentenceTransformer) -> None:
    """The student embeds queries and documents as the teacher does: same prompts, same similarity function."""
    prompts = dict(getattr(teacher, "prompts", None) or {})
    if any(prompts.values()):
        student.prompts = prompts
        student.default_prompt_name = getattr(teacher, "default_prompt_name", None)
    if getattr(teacher, "similarity_fn_name", None):
        student.similarity_fn_name = teacher.similarity_fn_name
