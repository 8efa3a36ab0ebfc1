"""The loss registry: every loss ``[loss]`` can weigh, in one table.

An entry gives the loss's weight key (``loss.<name>`` in the config), its default weight, what it needs of the
student and the data (checked before any work starts, ``compress.config.checks``) and whether its weight is in the
cache and stage keys when it is 0. Its implementation is ``compress/distill/losses/<name>.py``, whose
``build(context)`` returns the loss module (``compress.distill.losses.build``).

Adding a loss: write that file, and add one ``LossSpec`` here. ``LossConfig`` takes its weight from this table,
``compress check-config`` and the checks know it, and the recipes and stage keys of configs that leave it at 0 do
not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from compress.enums import MatchKind, StudentKind

TRANSFORMERS = (StudentKind.PRUNED, StudentKind.PRETRAINED)


@dataclass(frozen=True)
class LossSpec:
    name: str  # the weight's key under [loss], and the file compress/distill/losses/<name>.py
    what: str
    default: float = 0.0
    term: bool = True  # a term of the distillation loss; False: a loss of its own beside it (the task loss)
    students: tuple[StudentKind, ...] | None = None  # the student kinds it works with; None: any
    match: MatchKind | None = None  # the student.match it needs; None: any
    data: str | None = None  # a [data] key it reads, which must be set
    unmet: str = ""  # why it cannot run when a need above is unmet (after "config key 'loss.<name>' ")
    fix: str = ""
    # In the stage keys when 0. Losses added later leave this False, so recipes without them keep their keys.
    keyed_when_off: bool = False


LOSSES: tuple[LossSpec, ...] = (
    LossSpec("mse", "mean squared error to the teacher's sentence embeddings", default=1.0, keyed_when_off=True),
    LossSpec("cosine", "1 - cosine to the teacher's sentence embeddings", keyed_when_off=True),
    LossSpec("similarity", "in-batch similarity distributions, the teacher's as the target (KL)",
             keyed_when_off=True),
    LossSpec("task", "CoSENT on data.sts_train's labeled pairs", term=False, data="sts_train",
             unmet="needs 'data.sts_train' (labeled pairs)", fix="set data.sts_train, or loss.task = 0",
             keyed_when_off=True),
    LossSpec("hidden", "hidden-state matching through learned projections", students=TRANSFORMERS,
             unmet="needs transformer layers; a static student has none",
             fix="set it to 0, or choose student.kind = 'pruned' or 'pretrained'", keyed_when_off=True),
    LossSpec("attention", "attention transfer (distributions, or MiniLMv2 relations)", students=TRANSFORMERS,
             unmet="needs transformer layers; a static student has none",
             fix="set it to 0, or choose student.kind = 'pruned' or 'pretrained'", keyed_when_off=True),
    LossSpec("tokens", "the teacher's cached token states, position by position", students=TRANSFORMERS,
             match=MatchKind.PROJECTION,
             unmet="needs a transformer student matched by a projection (token states have no PCA and a static "
                   "student no context)",
             fix="set loss.tokens = 0, or student.match = 'projection' with a pruned/pretrained student"),
    LossSpec("cross", "each student vector scored against the batch's teacher vectors (a query searching the "
             "teacher's index), the teacher's own in-batch distribution as the target (KL)"),
    LossSpec("scores", "each student vector's scores against the batch's teacher vectors (mean-centred), the "
             "teacher's own scores as the target (squared error: the error where teacher vectors rank documents)"),
    LossSpec("keep", "a pretrained student's own in-batch similarities, held while it learns",
             students=(StudentKind.PRETRAINED,),
             unmet="holds a pretrained student's own similarities; the student must be 'pretrained'",
             fix="set loss.keep = 0, or student.kind = 'pretrained'"),
)
LOSS_WEIGHTS = tuple(spec.name for spec in LOSSES)


def loss_spec(name: str) -> LossSpec:
    for spec in LOSSES:
        if spec.name == name:
            return spec
    raise KeyError(f"no loss named {name!r}; known: {', '.join(LOSS_WEIGHTS)}")


def default_weights() -> dict[str, float]:
    return {spec.name: spec.default for spec in LOSSES}
