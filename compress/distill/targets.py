"""The teacher's targets for distillation: sentence embeddings, passage embeddings and (``loss.tokens``) token
states, each through its cache; and the label rows the trainer reads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from compress.config import CacheDtype, Config
from compress.data import Corpus
from compress.distill.teacher_cache import teacher_embeddings, teacher_key
from compress.distill.teacher_runtime import resolve_runtime
from compress.distill.token_cache import TokenTargets, finished_token_targets, teacher_token_targets
from compress.precision import resolve

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
ALIGN_SAMPLE = 1000  # training sentences whose word pieces are compared before token targets are used
ALIGN_MIN = 0.99  # share of them that must split identically


@dataclass(frozen=True)
class Targets:
    """Training and held-back sentences, passages and queries; ``tokens``: the teacher's token states of the
    sentences (training then held back, the order of ``Corpus.all``), when ``loss.tokens`` is on and the tokenizers
    align."""

    train: np.ndarray
    validation: np.ndarray
    passages: np.ndarray
    validation_passages: np.ndarray
    tokens: TokenTargets | None = None
    queries: np.ndarray | None = None
    validation_queries: np.ndarray | None = None

    def transformed(self, transform: Callable[[np.ndarray], np.ndarray]) -> Targets:
        def maybe(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else transform(array)

        return replace(self, train=transform(self.train), validation=transform(self.validation),
                       passages=transform(self.passages), validation_passages=transform(self.validation_passages),
                       queries=maybe(self.queries), validation_queries=maybe(self.validation_queries))

    @property
    def training_queries(self) -> np.ndarray:
        return self.queries if self.queries is not None else self.train[:0]

    @property
    def training(self) -> np.ndarray:
        """The target of every training text, in ``Corpus.training_texts`` order: sentences, queries, passages."""
        return np.concatenate([self.train, self.training_queries, self.passages])


def _sentence_targets(teacher: SentenceTransformer, corpus: Corpus,
                      config: Config) -> tuple[np.ndarray, TokenTargets | None]:
    cache_dir, t = Path(config.output.cache_dir), config.teacher
    precision = resolve(t.precision, teacher.device.type)
    if config.loss.weight("tokens") > 0:
        tokens = teacher_token_targets(teacher, corpus.all, corpus.fingerprint(), cache_dir, t.batch_size,
                                       t.chunk_size, config.output.progress, precision, config.loss.token_layer)
        return tokens.pooled, tokens
    finished = finished_token_targets(teacher_key(teacher, corpus.fingerprint(), precision), cache_dir)
    if finished is not None:  # the same forward pass's sentence embeddings: no second teacher pass
        log.info("teacher embeddings: taken from the token cache of the same corpus")
        return np.asarray(finished.pooled), None
    return frozen_embeddings(teacher, corpus.all, corpus.fingerprint(), config, t.cache_dtype), None


def frozen_embeddings(model: SentenceTransformer, texts: Sequence[str], fingerprint: str, config: Config,
                      dtype: CacheDtype, label: str = "teacher embeddings") -> np.ndarray:
    """A frozen model's embeddings of ``texts`` (float32) through the embedding cache, with the teacher's pass
    settings (``teacher.runtime``, ``precision``, ``batch_size``, ``chunk_size``); ``label`` names the pass."""
    t = config.teacher
    device = model.device.type
    return np.asarray(teacher_embeddings(
        model, texts, fingerprint, Path(config.output.cache_dir), t.batch_size, t.chunk_size, config.output.progress,
        resolve(t.precision, device), dtype, resolve_runtime(t.runtime, t.precision, device), label), dtype=np.float32)


def teacher_targets(teacher: SentenceTransformer, corpus: Corpus, config: Config) -> Targets:
    """The teacher's embeddings of sentences and queries (at ``teacher.max_seq_length``) and of passages (at
    ``data.passage_max_tokens``), each through its own cache."""
    t = config.teacher
    sentences, tokens = _sentence_targets(teacher, corpus, config)
    n_train, n_passages = len(corpus.train), len(corpus.passages)
    passages = np.zeros((0, sentences.shape[1]), dtype=np.float32)
    if corpus.all_passages:
        previous, teacher.max_seq_length = teacher.max_seq_length, config.data.passage_max_tokens
        try:
            passages = frozen_embeddings(teacher, corpus.all_passages, corpus.passage_fingerprint(), config,
                                         t.cache_dtype)
        finally:
            teacher.max_seq_length = previous
    queries = (frozen_embeddings(teacher, corpus.all_queries, corpus.query_fingerprint(), config, t.cache_dtype,
                                 "teacher embeddings of queries") if corpus.all_queries else sentences[:0])
    n_queries = len(corpus.queries)
    return Targets(sentences[:n_train], sentences[n_train:], passages[:n_passages], passages[n_passages:], tokens,
                   queries[:n_queries], queries[n_queries:])


def same_word_pieces(student: SentenceTransformer, teacher: SentenceTransformer, texts: Sequence[str]) -> float:
    """The share of ``texts`` that both tokenizers split into the same word pieces (special tokens aside)."""
    if not texts:
        return 1.0
    same = sum(student.tokenizer.tokenize(t) == teacher.tokenizer.tokenize(t) for t in texts)
    return same / len(texts)


def checked_tokens(targets: Targets, student: SentenceTransformer, teacher: SentenceTransformer,
                   sentences: Sequence[str]) -> Targets:
    """``targets`` without token states when student and teacher split text differently (position i of one is
    not position i of the other): the sentence targets stay, and the log says so."""
    if targets.tokens is None:
        return targets
    share = same_word_pieces(student, teacher, sentences[:ALIGN_SAMPLE])
    if share >= ALIGN_MIN:
        log.info("token targets: %.1f%% of %d sampled sentences split identically", 100 * share,
                 min(len(sentences), ALIGN_SAMPLE))
        return targets
    log.warning("loss.tokens is off for this student: its tokenizer splits only %.1f%% of sampled sentences as "
                "the teacher's does (needs %.0f%%); training on sentence targets only", 100 * share, 100 * ALIGN_MIN)
    return replace(targets, tokens=None)


def training_labels(targets: Targets, prior: np.ndarray | None = None) -> np.ndarray:
    """One label row per training text (sentences, queries, then passages: ``Corpus.training_texts``): the target
    embedding, then ``prior`` (the pretrained model's own embedding, ``loss.keep``), and with token targets a last
    column holding the row's index in the token cache (-1 for queries and passages, which have none)."""
    labels = targets.training.astype(np.float32)
    if prior is not None:
        labels = np.concatenate([labels, prior.astype(np.float32)], axis=1)
    if targets.tokens is None:
        return labels
    others = len(targets.training_queries) + len(targets.passages)
    rows = np.concatenate([np.arange(len(targets.train)), np.full(others, -1)]).astype(np.float32)
    return np.concatenate([labels, rows[:, None]], axis=1)
