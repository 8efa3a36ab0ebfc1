"""Query-shaped texts for distillation, built from corpus sentences by rules.

A student that embeds search queries against an index its teacher built must match the teacher on what users
type, and a sentence corpus holds no queries. Each query is made from one corpus sentence (seeded), in one of three
shapes, in turn:

- ``crop``: a run of 3-12 consecutive words from the sentence, punctuation at its ends stripped ("the effect of
  temperature on the rate");
- ``keywords``: 2-6 of the sentence's content words in their order, stop words and numbers dropped, lower-cased
  ("rate reaction temperature effect"), as keyword search boxes get them;
- ``question``: the sentence turned into a question by rules: "X is/are/was/were/has/can/will Y." becomes
  "is/are/... X Y?" (its yes/no question), and a sentence with no such verb near its start becomes "what about"
  / "how does" / "why" + a crop of it ("why the rate doubled?"). Rough English, as users' queries are.

Queries come from sentences outside the training sample (like passages), so they add new content, not only new
shapes. The teacher embeds them like sentences (at ``teacher.max_seq_length``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

SHAPES = ("crop", "keywords", "question")
STOP = frozenset(("a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with",
                  "from", "as", "into", "onto", "over", "under", "about", "after", "before", "between", "through",
                  "during", "without", "within", "is", "are", "was", "were", "be", "been", "being", "am", "do",
                  "does", "did", "has", "have", "had", "having", "it", "its", "this", "that", "these", "those",
                  "there", "here", "which", "who", "whom", "whose", "what", "when", "where", "why", "how", "not",
                  "no", "nor", "so", "than", "then", "too", "very", "can", "could", "will", "would", "shall",
                  "should", "may", "might", "must", "i", "me", "my", "we", "our", "you", "your", "he", "him", "his",
                  "she", "her", "they", "them", "their", "also", "just", "only", "such", "more", "most", "other",
                  "some", "any", "each", "both", "all", "few", "own", "same", "one", "two", "s", "t"))
AUXILIARIES = ("is", "are", "was", "were", "has", "have", "had", "can", "could", "will", "would", "should", "may",
               "does", "do", "did")
WH_STARTS = ("what about", "how does", "why", "what is known about", "how to")
EDGE = re.compile(r"^[^\w]+|[^\w]+$")


def _words(sentence: str) -> list[str]:
    return [w for w in (EDGE.sub("", w) for w in sentence.split()) if w]


def crop(words: Sequence[str], rng: random.Random) -> str:
    size = min(len(words), rng.randint(3, 12))
    start = rng.randint(0, len(words) - size)
    return " ".join(words[start:start + size])


def keywords(words: Sequence[str], rng: random.Random) -> str:
    content = [w.lower() for w in words if w.lower() not in STOP and not w.isdigit() and len(w) > 1]
    if len(content) < 2:
        return crop(words, rng)
    size = min(len(content), rng.randint(2, 6))
    start = rng.randint(0, len(content) - size)
    return " ".join(content[start:start + size])


def question(words: Sequence[str], rng: random.Random) -> str:
    lowered = [w.lower() for w in words]
    verb = next((i for i, w in enumerate(lowered[:8]) if w in AUXILIARIES and i > 0), None)
    if verb is not None and len(words) > verb + 1:
        subject = [w.lower() if i == 0 and w.lower() in STOP else w for i, w in enumerate(words[:verb])]
        rest = words[verb + 1:verb + 1 + rng.randint(2, 10)]
        return f"{lowered[verb]} {' '.join(subject)} {' '.join(rest)}?"
    return f"{rng.choice(WH_STARTS)} {crop(words, rng).lower()}?"


BUILDERS: dict[str, Callable[[Sequence[str], random.Random], str]] = {
    "crop": crop, "keywords": keywords, "question": question}


def build_queries(pool: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """``count`` distinct queries from sentences of ``pool`` (each used at most once while the pool lasts), the
    shapes in turn; sentences of fewer than 3 words are passed over."""
    if count <= 0 or not pool:
        return []
    order = list(range(len(pool)))
    rng.shuffle(order)
    seen: set[str] = set()
    queries: list[str] = []
    for tries, index in enumerate(order * 3):  # a small pool is walked again (new crops of the same sentences)
        if len(queries) == count or tries > 20 * count:
            break
        words = _words(pool[index])
        if len(words) < 3:
            continue
        text = BUILDERS[SHAPES[len(queries) % len(SHAPES)]](words, rng).strip()
        if text and text not in seen:
            seen.add(text)
            queries.append(text)
    return queries
