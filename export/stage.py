"""The export stage driven by the config: held-back corpus sentences and STS dev for the gate."""

from __future__ import annotations

from pathlib import Path

from compress.config import Config
from compress.data import load_corpus, load_sts
from export.pipeline import ExportResult, export_artifact


def run_export(config: Config, student_dir: Path, out_dir: Path) -> ExportResult:
    from export.pipeline import check_student_dir

    check_student_dir(student_dir)
    export = config.export
    wanted = max(export.gate_sentences, export.calibration_sentences, 40)
    # The same held-back slice as distillation (same sample, seed and size): sentences the student never saw.
    corpus = load_corpus(Path(config.data.corpus), config.data.column, config.data.max_sentences,
                         config.data.validation_sentences, config.data.seed)
    sentences = corpus.validation if len(corpus.validation) >= 40 else corpus.all[:wanted]
    sts_dev = load_sts(Path(config.data.sts_dev)) if config.data.sts_dev else None
    return export_artifact(student_dir, out_dir, export, sentences, sts_dev)
