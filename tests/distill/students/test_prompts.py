"""A teacher with query/document prompts: distillation prefixes the corpus with them, the student and its
artifact carry them, and the server and the runtime apply them (``input_type``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compress.config import ExportConfig, StudentKind, Target, load_config
from compress.data import Corpus
from compress.distill.students.prompts import chosen, prompted
from export.artifact.prompts import InputType, Prompts, read_prompts
from tests.bench.retrieval.test_harness import PROMPTS, build_prompted_teacher
from tests.conftest import make_sentences, tiny_config_text


def test_each_sentence_gets_one_prompt_in_turn() -> None:
    prompts = Prompts("query: ", "passage: ")
    assert chosen(prompts, None) == ["query: ", "passage: "]
    assert chosen(prompts, ["document"]) == ["passage: "] and chosen(prompts, []) == []
    assert chosen(Prompts(), None) == []  # a teacher without prompts: the corpus as it is
    corpus = prompted(Corpus(["a", "b", "c"], ["d"]), ["query: ", "passage: "])
    assert corpus.train == ["query: a", "passage: b", "query: c"] and corpus.validation == ["passage: d"]
    with_passages = prompted(Corpus(["a"], ["b"], ["p q", "r s"], ["t u"]), ["query: ", "passage: "])
    assert with_passages.passages == ["query: p q", "passage: r s"] and with_passages.validation_passages == [
        "query: t u"]


def test_prompt_names_are_checked(tmp_path: Path) -> None:
    from compress.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text('[teacher]\nprompts = ["query", "passages"]\n')
    with pytest.raises(ConfigError, match=r"teacher\.prompts"):
        load_config(path)


@pytest.fixture(scope="module")
def prompted_artifact(tmp_path_factory: pytest.TempPathFactory, tiny_other_dir: Path, corpus_file: Path,
                      sts_file: Path) -> tuple[Path, Path]:
    from compress.data import load_sts
    from compress.distill.stage import distill
    from export.pipeline import export_artifact

    tmp = tmp_path_factory.mktemp("prompted-distill")
    teacher = build_prompted_teacher(tmp / "teacher")
    path = tmp / "c.toml"
    path.write_text(tiny_config_text(teacher, corpus_file, sts_file, tmp / "out", tmp / "cache"))
    config = load_config(path, [f"student.kind={json.dumps(StudentKind.PRETRAINED.value)}",
                                f"student.model={json.dumps(str(tiny_other_dir))}"])
    student = distill(config, tmp / "student").student_dir
    artifact = tmp / "artifact"
    export_artifact(student, artifact, ExportConfig(targets=[Target("avx2")], ort_format=False),
                    make_sentences(40, seed=9), load_sts(sts_file))
    return student, artifact


def test_the_student_and_its_artifact_carry_the_teachers_prompts(prompted_artifact: tuple[Path, Path]) -> None:
    student, artifact = prompted_artifact
    for folder in (student, artifact):
        prompts = read_prompts(folder)
        assert (prompts.query, prompts.document) == (PROMPTS["query"], PROMPTS["document"])
    assert "## Prompts" in (artifact / "README.md").read_text()


def test_serve_applies_the_prompt_of_the_input_type(prompted_artifact: tuple[Path, Path]) -> None:
    import httpx

    from serve.app import ServerSettings
    from serve.embedder import Embedder
    from tests.serve.conftest import start_server

    embedder = Embedder(prompted_artifact[1])
    texts = ["a man plays the guitar.", "two dogs run in the park."]
    as_query = embedder.embed(texts, InputType.QUERY)
    assert np.allclose(as_query, embedder.encode(["query: " + t for t in texts]), atol=1e-6)
    assert np.abs(as_query - embedder.encode(texts)).max() > 1e-4  # the prefix changes the embedding
    server, thread, url = start_server(embedder, ServerSettings())
    try:
        def post(body: dict[str, object]) -> np.ndarray:
            answer = httpx.post(f"{url}/v1/embeddings", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            return np.array([d["embedding"] for d in answer.json()["data"]])

        assert np.allclose(post({"input": texts, "input_type": "query"}), as_query, atol=1e-5)
        assert np.allclose(post({"input": texts, "input_type": "document"}), embedder.embed(texts, "document"),
                           atol=1e-5)
        assert np.allclose(post({"input": texts}), embedder.encode(texts), atol=1e-5)  # no default prompt
        bad = httpx.post(f"{url}/v1/embeddings", json={"input": texts, "input_type": "passage"}, timeout=30)
        assert bad.status_code == 422
        assert httpx.get(f"{url}/info", timeout=30).json()["prompts"]["query"] == "query: "
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)
