"""A model's prompts and similarity function, from sentence-transformers' ``config_sentence_transformers.json``.

Retrieval models often embed queries and documents with different prefixes (e5: ``"query: "`` / ``"passage: "``;
bge: an instruction before queries only). sentence-transformers keeps them under ``prompts`` and uses the
``query`` prompt in ``encode_query`` and the first of ``document``, ``passage``, ``corpus`` in
``encode_document``; this module reads them the same way, for the harness (torch models and artifacts alike), the
export (the artifact carries the student's, i.e. its teacher's, prompts) and the server (``input_type``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

CONFIG = "config_sentence_transformers.json"
DOCUMENT_NAMES = ("document", "passage", "corpus")


class InputType(StrEnum):
    QUERY = "query"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Prompts:
    query: str = ""
    document: str = ""
    similarity: str = "cosine"  # sentence-transformers' similarity_fn_name ("dot": raw inner product)
    default: str = ""  # the prompt of default_prompt_name: for texts sent without an input type

    def of(self, input_type: InputType | str | None) -> str:
        if input_type is None:
            return self.default
        return self.query if InputType(input_type) is InputType.QUERY else self.document

    def apply(self, texts: list[str], input_type: InputType | str | None) -> list[str]:
        prompt = self.of(input_type)
        return [prompt + t for t in texts] if prompt else list(texts)

    def to_dict(self) -> dict[str, str]:
        return {"query": self.query, "document": self.document, "default": self.default}

    def __bool__(self) -> bool:
        return bool(self.query or self.document or self.default)


def from_config(config: dict[str, Any]) -> Prompts:
    prompts = config.get("prompts") or {}
    prompts = prompts if isinstance(prompts, dict) else {}
    document = next((prompts[n] for n in DOCUMENT_NAMES if isinstance(prompts.get(n), str) and prompts[n]), "")
    query = prompts.get("query") if isinstance(prompts.get("query"), str) else ""
    default = prompts.get(config.get("default_prompt_name") or "", "")
    return Prompts(query or "", document, str(config.get("similarity_fn_name") or "cosine"),
                   default if isinstance(default, str) else "")


def read_prompts(folder: Path) -> Prompts:
    """The prompts of a sentence-transformers folder or artifact (none when it has no config file)."""
    path = Path(folder) / CONFIG
    if not path.is_file():
        return Prompts()
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return Prompts()
    return from_config(config if isinstance(config, dict) else {})
