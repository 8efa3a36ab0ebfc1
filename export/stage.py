"""The export stage driven by the config: the held-back sentences distillation handed over, STS dev for the gate."""

from __future__ import annotations

from pathlib import Path

from compress.config import Config
from compress.data import load_corpus, load_sts, sentences_of
from compress.handoff import read_handoff
from export.pipeline import ExportResult, export_artifact

MIN_SENTENCES = 40


def run_export(config: Config, student_dir: Path, out_dir: Path) -> ExportResult:
    from export.pipeline import check_student_dir

    check_student_dir(student_dir)
    sts_dev = load_sts(Path(config.data.sts_dev)) if config.data.sts_dev else None
    heldback = heldback_sentences(config, student_dir)
    return export_artifact(student_dir, out_dir, config.export, heldback, sts_dev,
                           vocabulary_sample(config, heldback) if config.export.prune_vocab else None)


def vocabulary_sample(config: Config, heldback: list[str]) -> list[str]:
    """The corpus sentences whose tokens a pruned vocabulary keeps: up to ``export.vocab_sentences`` of the
    corpus, the held-back ones excluded (they measure what pruning changed)."""
    data = config.data
    corpus = load_corpus(Path(data.corpus), data.column, config.export.vocab_sentences, 0, data.seed)
    excluded = set(heldback)
    return [s for s in corpus.all if s not in excluded]


def heldback_sentences(config: Config, student_dir: Path) -> list[str]:
    """Sentences the student never saw, for parity, calibration and the gate: those distillation held back (its
    report's hand-off), else the config's held-back slice, else (too few) the first sentences of the sample."""
    handoff = read_handoff(student_dir)
    if handoff is not None and len(handoff.heldback) >= MIN_SENTENCES:
        return handoff.heldback
    export = config.export
    corpus = sentences_of(config.data)
    wanted = max(export.gate_sentences, export.calibration_sentences, MIN_SENTENCES)
    return corpus.validation if len(corpus.validation) >= MIN_SENTENCES else corpus.all[:wanted]
