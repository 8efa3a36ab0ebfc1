"""Vocabulary pruning: keep the tokens a corpus sample uses, and what any text needs to still tokenize.

A small student's embedding matrix holds most of its weights (30,522 x 384 of all-MiniLM-L6-v2's 22.7M
parameters), yet English text uses a fraction of the vocabulary. Kept: every token the sample's tokenization
produced, the special tokens, and every single-character piece (``a`` and ``##a``), which WordPiece falls back to
when a longer piece is gone, so any word it could tokenize before it still tokenizes (into other pieces, never
into ``[UNK]``). The tokenizer and the matrix are remapped together; the result is an ordinary
sentence-transformers folder that every runtime loads unchanged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compress.errors import CompressError
from compress.models import backbone

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

BATCH = 4096


@dataclass(frozen=True)
class VocabReport:
    before: int
    after: int
    used_by_sample: int
    sample_sentences: int
    changed_on_heldback: float | None = None  # share of held-back texts tokenized differently from before

    @property
    def kept_share(self) -> float:
        return self.after / self.before


def _spec(model: SentenceTransformer) -> tuple[Any, dict[str, Any]]:
    tokenizer = model.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise CompressError("vocabulary pruning needs a fast (Rust) tokenizer", "set export.prune_vocab = false")
    spec = json.loads(backend.to_str())
    if spec.get("model", {}).get("type") != "WordPiece":
        raise CompressError(f"vocabulary pruning supports WordPiece tokenizers, not {spec['model'].get('type')}",
                            "set export.prune_vocab = false for this student")
    return backend, spec


def used_ids(backend: Any, sentences: list[str]) -> set[int]:
    used: set[int] = set()
    for start in range(0, len(sentences), BATCH):
        for encoding in backend.encode_batch(sentences[start:start + BATCH]):
            used.update(encoding.ids)
    return used


def kept_ids(spec: dict[str, Any], used: set[int]) -> list[int]:
    vocab: dict[str, int] = spec["model"]["vocab"]
    special = {t["id"] for t in spec.get("added_tokens", [])} | {vocab[spec["model"]["unk_token"]]}
    prefix = spec["model"].get("continuing_subword_prefix", "##")
    chars = {i for token, i in vocab.items()
             if len(token) == 1 or (token.startswith(prefix) and len(token) == len(prefix) + 1)}
    return sorted(used | special | chars)


def remap_spec(spec: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """The tokenizer with only ``keep`` (old ids, in order), renumbered 0..n-1: vocab, added tokens, the
    post-processor's special-token ids and the padding id."""
    new = {old: i for i, old in enumerate(keep)}
    spec = json.loads(json.dumps(spec))
    spec["model"]["vocab"] = {token: new[i] for token, i in spec["model"]["vocab"].items() if i in new}
    for token in spec.get("added_tokens", []):
        token["id"] = new[token["id"]]
    post = spec.get("post_processor") or {}
    for processors in [post, *post.get("processors", [])]:
        for special in (processors.get("special_tokens") or {}).values():
            special["ids"] = [new[i] for i in special["ids"]]
        for key in ("sep", "cls"):  # BertProcessing / RobertaProcessing: [token, id]
            if isinstance(processors.get(key), list):
                processors[key][1] = new[processors[key][1]]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new[spec["padding"]["pad_id"]]
    return spec


def prune_vocabulary(model: SentenceTransformer, sample: list[str]) -> tuple[SentenceTransformer, VocabReport]:
    """Prune ``model`` in place (its tokenizer and embedding matrix) to what ``sample`` uses; return it."""
    import torch
    from tokenizers import Tokenizer

    backend, spec = _spec(model)
    used = used_ids(backend, sample)
    keep = kept_ids(spec, used)
    pruned = Tokenizer.from_str(json.dumps(remap_spec(spec, keep)))
    encoder = backbone(model)
    old = encoder.get_input_embeddings()
    table = torch.nn.Embedding(len(keep), old.embedding_dim)
    with torch.no_grad():
        table.weight.copy_(old.weight[torch.tensor(keep)])
    encoder.set_input_embeddings(table)
    encoder.config.vocab_size = len(keep)
    tokenizer = model.tokenizer
    new_tokenizer = type(tokenizer)(tokenizer_object=pruned, **tokenizer.special_tokens_map,
                                    model_max_length=tokenizer.model_max_length,
                                    do_lower_case=getattr(tokenizer, "do_lower_case", True))
    model[0].processor = new_tokenizer  # sentence-transformers 5: the tokenizer is the text processor
    pad = new_tokenizer.pad_token_id
    if pad is not None:
        encoder.config.pad_token_id = pad
    report = VocabReport(len(spec["model"]["vocab"]), len(keep), len(used), len(sample))
    log.info("vocabulary: kept %d of %d tokens (%d used by %d corpus sentences, plus specials and characters)",
             report.after, report.before, report.used_by_sample, report.sample_sentences)
    return model, report


def tokenization_changes(before: Any, after: Any, texts: list[str]) -> float:
    """Share of ``texts`` whose token strings differ between two tokenizers (``tokenizers.Tokenizer``)."""
    if not texts:
        return 0.0
    changed = sum(a.tokens != b.tokens for a, b in zip(before.encode_batch(texts), after.encode_batch(texts),
                                                       strict=True))
    return changed / len(texts)
