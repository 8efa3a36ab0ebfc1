"""How a time budget becomes a corpus sample and a number of epochs: a pure function of measured costs.

The distill stage costs, per sentence of the sample, one teacher pass (``teacher_s``) and, per epoch, one training
step's share (``train_s``, evaluations included); passages add a fixed teacher pass and their share of each epoch.
The policy follows the scaling measurements (``docs/recipe.md``: at the same CPU cost, more epochs on the cached
sample beat more sentences, up to the 4 epochs measured; 60k x 4 was the best setting tried):

1. ``BASE_SENTENCES`` at as many epochs as fit, up to ``MAX_EPOCHS`` (rounded down to a quarter epoch);
2. once ``MAX_EPOCHS`` fit, more sentences at ``MAX_EPOCHS`` (up to the whole corpus);
3. when fewer than ``MIN_EPOCHS`` fit on ``BASE_SENTENCES``, fewer sentences at ``MIN_EPOCHS`` (not measured as
   the better trade: a floor so that a small budget still trains on each sentence more than once), down to
   ``MIN_SENTENCES``; a budget that cannot hold those is an error before any work starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from compress.errors import ConfigError

BASE_SENTENCES = 60000
MIN_SENTENCES = 2000
MAX_EPOCHS = 4.0
MIN_EPOCHS = 2.0
EPOCH_STEP = 0.25
SENTENCE_STEP = 1000


@dataclass(frozen=True)
class Costs:
    """Seconds measured on this machine (``compress.distill.budget.probe``)."""

    teacher_s: float  # the frozen passes (the teacher's; loss.keep's published student), per sentence of the sample
    train_s: float  # one epoch, per training sentence: forward, backward and step, and its share of evaluations
    fixed_s: float  # independent of the sample: the passages' teacher pass, loading, the final evaluation
    passage_train_s: float = 0.0  # one epoch over every passage

    def seconds(self, sample: int, validation: int, epochs: float) -> dict[str, float]:
        """The estimated seconds of each part for a sample (``validation`` of it held back) and epochs."""
        return {"teacher": sample * self.teacher_s,
                "training": epochs * ((sample - validation) * self.train_s + self.passage_train_s),
                "fixed": self.fixed_s}


@dataclass(frozen=True)
class Choice:
    max_sentences: int  # the sample, held-back sentences included (data.max_sentences)
    epochs: float
    estimate_s: dict[str, float]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample_at(available: float, epochs: float, validation: int, costs: Costs) -> int:
    """The largest sample (a multiple of ``SENTENCE_STEP``) whose teacher pass and ``epochs`` fit ``available``."""
    spare = available - epochs * (costs.passage_train_s - validation * costs.train_s)
    sample = max(spare, 0.0) / (costs.teacher_s + epochs * costs.train_s)
    return int(sample // SENTENCE_STEP * SENTENCE_STEP)


def choose(budget_s: float, costs: Costs, corpus_rows: int, validation: int) -> Choice:
    """``data.max_sentences`` (``validation`` of them held back) and ``train.epochs`` that fill ``budget_s`` by the
    policy above, for a corpus of ``corpus_rows`` unique sentences."""
    available = budget_s - costs.fixed_s
    base = min(BASE_SENTENCES, corpus_rows)
    if base <= validation:
        raise ConfigError(f"the corpus has {corpus_rows} sentences: too few to hold back {validation} and train",
                          "lower data.validation_sentences or give more sentences")
    epochs = (available - base * costs.teacher_s) / ((base - validation) * costs.train_s + costs.passage_train_s)
    if epochs >= MAX_EPOCHS:
        more = max(_sample_at(available, MAX_EPOCHS, validation, costs), base)  # >= base, up to rounding
        sample, epochs, rule = min(more, corpus_rows), MAX_EPOCHS, "more sentences"
    elif epochs >= MIN_EPOCHS:
        sample, epochs, rule = base, math.floor(epochs / EPOCH_STEP) * EPOCH_STEP, "more epochs"
    else:
        sample, epochs, rule = _sample_at(available, MIN_EPOCHS, validation, costs), MIN_EPOCHS, "fewer sentences"
    floor = min(MIN_SENTENCES + validation, corpus_rows)
    if sample < floor:
        need = sum(costs.seconds(floor, validation, MIN_EPOCHS).values())
        raise ConfigError(f"config key 'train.budget_minutes' = {budget_s / 60:g} is too small on this machine: "
                          f"{floor} sentences x {MIN_EPOCHS:g} epochs need about {need / 60:.1f} minutes",
                          f"raise train.budget_minutes to at least {math.ceil(need / 60)}, or drop it and set "
                          "data.max_sentences and train.epochs")
    estimate = {k: round(v, 1) for k, v in costs.seconds(sample, validation, epochs).items()}
    return Choice(sample, epochs, estimate, rule)
