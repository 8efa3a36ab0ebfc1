from __future__ import annotations

from pathlib import Path

import pytest

from compress.config import ExportConfig, Target
from compress.data import load_sts
from export.pipeline import ExportResult, export_artifact
from tests.conftest import make_sentences


@pytest.fixture(scope="session")
def tiny_student_dir(tiny_teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentence_transformers import SentenceTransformer

    from compress.students import prune_layers

    out = tmp_path_factory.mktemp("student") / "st"
    prune_layers(SentenceTransformer(str(tiny_teacher_dir), device="cpu"), [0, 3]).save(str(out))
    return out


@pytest.fixture(scope="session")
def exported(tiny_student_dir: Path, sts_file: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    config = ExportConfig(targets=[Target.AVX512_VNNI, Target.AVX2], static=True, calibration_sentences=32,
                          gate_sentences=64, min_retention=50.0, min_cosine=0.98)
    out = tmp_path_factory.mktemp("artifact") / "art"
    return export_artifact(tiny_student_dir, out, config, make_sentences(80, seed=11), load_sts(sts_file))
