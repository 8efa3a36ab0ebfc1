"""Passages for distillation: several corpus sentences joined into one longer text.

A sentence corpus teaches a student short inputs only; users embed paragraphs and documents too. A passage is
built from sentences drawn at random (seeded) from a pool, appended until it reaches a word count drawn uniformly
from ``[min_words, max_words]``. The shared corpus is shuffled, so a passage mixes unrelated sentences: it teaches
how the teacher pools a long input, not discourse. The teacher embeds passages at their own token length
(``data.passage_max_tokens``), beside the sentences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def build_passages(pool: Sequence[str], count: int, min_words: int, max_words: int,
                   rng: random.Random) -> list[str]:
    """``count`` passages from ``pool``; each sentence is used at most once while the pool lasts, then the pool is
    reshuffled (a pool smaller than the passages need reuses sentences, never within one passage)."""
    if count <= 0 or not pool:
        return []
    order = list(range(len(pool)))
    rng.shuffle(order)
    cursor = 0
    passages = []
    for _ in range(count):
        target = rng.randint(min_words, max_words)
        parts: list[str] = []
        used: set[int] = set()
        words = 0
        while words < target and len(used) < len(pool):
            if cursor == len(order):
                rng.shuffle(order)
                cursor = 0
            index = order[cursor]
            cursor += 1
            if index in used:
                continue
            used.add(index)
            parts.append(pool[index])
            words += len(pool[index].split())
        passages.append(" ".join(parts))
    return passages


def word_counts(texts: Sequence[str]) -> dict[str, float]:
    """Mean, min and max words per text (for the report)."""
    counts = [len(t.split()) for t in texts] or [0]
    return {"mean": sum(counts) / len(counts), "min": min(counts), "max": max(counts)}
