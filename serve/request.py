"""The ``POST /v1/embeddings`` body, with this server's limits in its schema (so the OpenAPI spec says what is
accepted), and validation errors turned into OpenAI-shaped answers with a code per limit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, create_model, field_validator

from serve.limits import error

TOKEN_IDS = "token-id arrays are not accepted: send the text itself"
NAME_CHARS = 256


class EmbeddingRequest(BaseModel):
    """OpenAI's fields; ``input`` and ``dimensions`` get this server's limits in ``request_model``."""

    input: str | list[str]
    model: str | None = Field(None, max_length=NAME_CHARS)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = Field(None, max_length=NAME_CHARS)
    input_type: Literal["query", "document"] | None = Field(
        None, description="Not an OpenAI field: embed the input as search queries or as documents, with the model's "
                          "prompt for that type before each text (models distilled from a teacher with prompts, "
                          "such as e5 or bge). Omitted: the model's default prompt, usually none.")

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


def _no_token_ids(value: Any) -> Any:
    """OpenAI also takes arrays of token ids; ids of another tokenizer mean nothing to this model."""
    if isinstance(value, list) and any(isinstance(v, int | list) and not isinstance(v, bool) for v in value):
        raise ValueError(TOKEN_IDS)
    return value


def request_model(max_items: int, max_chars: int, dim: int) -> type[EmbeddingRequest]:
    text = Annotated[str, Field(max_length=max_chars)]
    texts = Annotated[list[text], Field(min_length=1, max_length=max_items)]
    one_dim: Any = Literal[dim]  # the only value ``dimensions`` may take
    model: type[EmbeddingRequest] = create_model(
        "EmbeddingRequest", __base__=EmbeddingRequest,
        input=(text | texts, Field(description=f"A text or a list of 1..{max_items} texts of at most {max_chars} "
                                               "characters. Token-id arrays are not accepted (422): send the "
                                               "text.")),
        dimensions=(one_dim | None, Field(None, description=f"Optional; this model returns {dim} "
                                                                 "dimensions and offers no other.")),
        __validators__={"no_token_ids": field_validator("input", mode="before")(_no_token_ids)},
    )
    return model


def _input_error(kinds: dict[str, dict[str, Any]], max_items: int, max_chars: int) -> JSONResponse:
    if any(TOKEN_IDS in str(e.get("msg", "")) for e in kinds.values()):
        return error(422, TOKEN_IDS, "token_ids_not_supported", param="input")
    if "too_long" in kinds:
        return error(422, f"input has more than {max_items} items (max_items)", "too_many_items", param="input",
                     limit=max_items)
    if "string_too_long" in kinds:
        return error(422, f"an input item has more than {max_chars} characters (max_chars)", "item_too_long",
                     param="input", limit=max_chars)
    if "too_short" in kinds:
        return error(422, "input must hold at least one string", "empty_input", param="input")
    if "string_unicode" in kinds:  # a lone surrogate such as \\ud800 is valid JSON, not valid text
        loc = kinds["string_unicode"].get("loc", ())
        where = f"input[{loc[-1]}]" if isinstance(loc[-1], int) else "input"
        return error(422, f"{where} is not valid Unicode text (it holds a lone surrogate)", "invalid_text",
                     param="input")
    return error(422, "input must be a string or a list of strings", "invalid_request", param="input")


def validation_error(errors: list[dict[str, Any]], max_items: int, max_chars: int, dim: int) -> JSONResponse:
    """One OpenAI-shaped 422 for pydantic's errors (a union reports one error per member: the most telling
    one wins)."""
    by_field: dict[str, dict[str, dict[str, Any]]] = {}
    for e in errors:
        loc = e.get("loc", ())
        by_field.setdefault(str(loc[1]) if len(loc) > 1 else "", {})[str(e.get("type"))] = e
    if "input" in by_field:
        return _input_error(by_field["input"], max_items, max_chars)
    if "dimensions" in by_field:
        return error(422, f"this model returns {dim} dimensions", "unsupported_dimensions", param="dimensions")
    first = errors[0] if errors else {}
    param = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    message = first.get("msg", "invalid request")
    return error(422, f"{param}: {message}" if param else message, "invalid_request", param=param)
