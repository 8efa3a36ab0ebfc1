"""What every loss component sees for one training batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class DistillBatch:
    student: Tensor  # (batch, dim) student sentence embeddings
    teacher: Tensor  # (batch, dim) teacher (target) embeddings
    attention_mask: Tensor | None  # (batch, seq); None for a static student (flat ids with offsets)
    student_hidden: list[Tensor] = field(default_factory=list)  # per student layer (batch, seq, hidden)
    teacher_hidden: list[Tensor] = field(default_factory=list)
    student_qkv: list[dict[str, Tensor]] = field(default_factory=list)  # per layer {"query","key","value"}
    teacher_qkv: list[dict[str, Tensor]] = field(default_factory=list)
    student_tokens: Tensor | None = None  # (batch, seq, dim) projected student token states (loss.tokens)
    teacher_tokens: Tensor | None = None  # (batch, seq, dim) the teacher's cached states at the same positions
    token_mask: Tensor | None = None  # (batch, seq) 1 where both are there and aligned
    prior: Tensor | None = None  # (batch, dim) the pretrained model's own embeddings (loss.keep)

    def mask(self) -> Tensor:
        """The attention mask; layer losses need one (validation keeps them off static students)."""
        if self.attention_mask is None:
            raise ValueError("this loss needs token-level inputs with an attention mask")
        return self.attention_mask
