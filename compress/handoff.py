"""What the distill stage hands to the later ones, recorded in the student's ``distill_report.json``: the held-back
sentences (never trained on; export calibrates and gates on them, the benchmark times and scores on them), the
student's kind and, for a pruned student, which teacher layers it kept. Later stages read it instead of
recomputing it; a student folder without it (any sentence-transformers folder) falls back to the config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT_NAME = "distill_report.json"
KEY = "handoff"


@dataclass(frozen=True)
class Handoff:
    heldback: list[str]
    student_kind: str  # the report's own ``student.kind``: not written twice
    teacher_layers: list[int] | None = None  # pruned: teacher block of each student block

    def to_dict(self) -> dict[str, Any]:
        """The report's ``handoff`` section (the kind is in its ``student`` section already)."""
        return {"heldback": self.heldback, "teacher_layers": self.teacher_layers}


def read_handoff(student_dir: Path) -> Handoff | None:
    path = student_dir / REPORT_NAME
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        data, kind = report.get(KEY), report.get("student", {}).get("kind", "")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("heldback"), list):
        return None
    return Handoff([str(s) for s in data["heldback"]], str(kind), data.get("teacher_layers"))
