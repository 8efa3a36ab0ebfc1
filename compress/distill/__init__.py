"""Stage 1, distill: the teacher embeds the corpus once (cached) and a student learns its space.

``compress.distill.stage.distill`` is the stage's entry (``compress distill``, and ``compress run``'s first stage).
What only this stage uses lives here: the teacher's targets and caches (``targets``, ``teacher_cache``,
``token_cache``, ``chunks``, ``teacher_runtime``), the students, the losses, the trainer, ``train.budget_minutes``
(``budget``) and the stage's report (``distill_report``).
"""
