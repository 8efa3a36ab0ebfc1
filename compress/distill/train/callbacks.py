"""Trainer callbacks: temperature schedule, and the loss's own weights saved with each checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn
from transformers import TrainerCallback

from compress.dist import sync_gradients
from compress.distill.losses.composite import DistillLoss
from compress.distill.losses.similarity import SimilarityKLLoss
from compress.faults import crash_point
from compress.progress import ProgressLog

LOSS_STATE = "distill_loss_state.safetensors"


class ScheduleCallback(TrainerCallback):
    """Tells the similarity and cross losses how far training has come (for their temperature schedule)."""

    def __init__(self, loss: nn.Module) -> None:
        self.targets = [m for m in loss.modules() if isinstance(m, SimilarityKLLoss)]

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        for module in self.targets:
            module.progress = state.global_step / max(state.max_steps, 1)


class LossStateCallback(TrainerCallback):
    """Saves the loss's learned projections beside each checkpoint, so a resumed run continues them."""

    def __init__(self, loss: DistillLoss) -> None:
        self.loss = loss

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        from safetensors.torch import save_file

        state_dict = self.loss.trainable_state()
        if state_dict and state.is_world_process_zero:  # under torchrun only rank 0 writes checkpoints
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, str(folder / LOSS_STATE))
        crash_point("train-checkpoint")


class LossGradSyncCallback(TrainerCallback):
    """Under torchrun: DDP averages the student's gradients, not those of the loss's own projections (the
    trainer optimizes them beside the student); averaged here before each optimizer step, every rank's copy stays
    the same."""

    def __init__(self, loss: DistillLoss) -> None:
        self.parameters = [p for p in loss.components.parameters() if p.requires_grad]

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        sync_gradients(self.parameters)


def restore_loss_state(loss: DistillLoss, checkpoint: Path) -> bool:
    from safetensors.torch import load_file

    path = checkpoint / LOSS_STATE
    if not path.exists():
        return False
    state = {k.removeprefix("components."): v for k, v in load_file(str(path)).items()}
    loss.components.load_state_dict(state)
    return True


class EvaluateAtEndCallback(TrainerCallback):
    """Validate at the last step too, so the best-checkpoint choice also sees the end of training."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step >= state.max_steps:
            control.should_evaluate = True


class ProgressLogCallback(TrainerCallback):
    """Where no progress bar is drawn (a script, CI): a log line every 30 s or 5% of training, with sentences
    done, the rate, the last logged loss and the time left."""

    def __init__(self) -> None:
        self.bar: ProgressLog | None = None
        self.per_step = 1
        self.loss: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.per_step = int(args.per_device_train_batch_size) * max(1, int(args.world_size))
        self.bar = ProgressLog(state.max_steps * self.per_step, "training", "sent",
                               initial=state.global_step * self.per_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None and state.is_world_process_zero:
            extra = {"epoch": f"{state.epoch:.2f}"} if state.epoch is not None else {}
            if self.loss is not None:
                extra["loss"] = f"{self.loss:.4g}"
            self.bar.update(self.per_step, **extra)
