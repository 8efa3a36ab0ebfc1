"""Reading the distillation corpus and labeled STS pairs, with errors that name file and line."""

from compress.data.corpus import (
    Corpus,
    PassagePlan,
    corpus_of,
    load_corpus,
    read_sentences,
    sentences_of,
    texts_fingerprint,
)
from compress.data.sts import StsPairs, load_sts

__all__ = ["Corpus", "PassagePlan", "StsPairs", "corpus_of", "load_corpus", "load_sts", "read_sentences",
           "sentences_of", "texts_fingerprint"]
