"""What a corpus sample holds of the words search sets use: random against coverage sampling (``data.sampling``).

For samples of the shared corpus drawn as the recipe draws them (``compress.data.sentences_of``), at random and for
coverage, at each size: the sample's distinct words, its mean words per sentence (what the teacher's pass pays
for), and, for each retrieval set's queries and documents, the share of their word occurrences and of their
distinct words that at least 3 of the sample's sentences hold (a word the student has seen a few times next to the
teacher's vectors). The retrieval sets are read only to explain what sampling changes: nothing here chooses
sentences by them. Words as ``compress.data.coverage`` counts them (runs of letters, lower-cased).

Reproduce (repo root, after scripts/setup.sh; about 2 minutes on 2 cores):
    .venv/bin/python benchmarks/sample_coverage.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from typing import Any

from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.machine import machine_info, machine_line

RESULTS = results_dir(__file__)
SEEN = 3  # a word counts as held when this many of the sample's sentences have it
log = logging.getLogger("sample_coverage")


def word_counts(texts: list[str]) -> Counter[str]:
    from compress.data.coverage import words_of

    return Counter(word for text in texts for word in words_of(text))


def held(sample: Counter[str], words: Counter[str]) -> dict[str, float]:
    """The share (%) of ``words``' occurrences and distinct words that ``SEEN`` or more of the sample's sentences
    hold (``sample``: sentences per word)."""
    kept = {word for word in words if sample[word] >= SEEN}
    return {"occurrences": round(100 * sum(words[w] for w in kept) / sum(words.values()), 1),
            "distinct": round(100 * len(kept) / len(words), 1)}


def row(label: str, sentences: list[str], sets: dict[str, Counter[str]]) -> dict[str, Any]:
    from compress.data.coverage import words_of

    sample = Counter(word for text in sentences for word in set(words_of(text)))  # sentences holding each word
    return {"sample": label, "sentences": len(sentences), "distinct_words": len(sample),
            "mean_words": round(sum(len(s.split()) for s in sentences) / len(sentences), 1),
            "sets": {name: held(sample, words) for name, words in sets.items()}}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from compress.config import DataConfig
    from compress.data import read_sentences, sentences_of
    from compress.data.beir import load_beir
    from compress.enums import Sampling

    corpus = args.data / "corpus" / "sentences.txt.gz"
    sets = {}
    for name in args.sets:
        found = load_beir(args.data / "retrieval" / name, name)
        sets[name] = word_counts(found.queries + found.docs)
    rows = [row("the whole corpus", read_sentences(corpus), sets)]
    for size in args.sizes:
        for sampling in (Sampling.RANDOM, Sampling.COVERAGE):
            start = time.perf_counter()
            drawn = sentences_of(DataConfig(corpus=str(corpus), max_sentences=size, validation_sentences=0,
                                            sampling=sampling)).train
            seconds = round(time.perf_counter() - start, 1)
            rows.append(row(f"{size:,} {sampling.value}", drawn, sets) | {"seconds": seconds})
            log.info("%s", rows[-1])
    return {"command": command_line(__file__), "machine": machine_line(machine_info()), "seen": SEEN, "rows": rows}


def markdown(doc: dict[str, Any]) -> str:
    names = list(doc["rows"][0]["sets"])
    head = ["sample", "distinct words", "mean words"]
    head += [f"{n} {k}" for n in names for k in ("occurrences %", "distinct %")]
    lines = ["# What a corpus sample holds of the words search sets use", "", "Command:", "",
             f"    {doc['command']}", "", doc["machine"], "",
             f"Each retrieval set's share (its queries and documents) of word occurrences and of distinct words that "
             f"at least {doc['seen']} of the sample's sentences hold. The sets are read only to explain the sampling; "
             f"nothing chooses sentences by them.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
    for entry in doc["rows"]:
        cells = [entry["sample"], f"{entry['distinct_words']:,}", f"{entry['mean_words']}"]
        cells += [f"{entry['sets'][n][k]}" for n in names for k in ("occurrences", "distinct")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000])
    parser.add_argument("--sets", nargs="+", default=["cacm", "npl"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    doc = run(args)
    write_results(RESULTS, "sample_coverage", doc, markdown(doc) + "\n")
    print(json.dumps(doc["rows"], indent=1))


if __name__ == "__main__":
    main()
