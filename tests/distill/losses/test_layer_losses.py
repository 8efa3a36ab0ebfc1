from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer

from compress.config import AttentionMode, LossConfig, loss_config
from compress.distill.losses import AttentionTransferLoss, build_losses, default_layer_map
from compress.distill.students import prune_layers
from compress.errors import ConfigError
from tests.conftest import make_sentences


def test_default_layer_map() -> None:
    assert default_layer_map(4, 12) == [2, 5, 8, 11]
    assert default_layer_map(2, 4) == [1, 3]
    assert default_layer_map(6, 6) == [0, 1, 2, 3, 4, 5]


def train_steps(student: SentenceTransformer, teacher: SentenceTransformer, config: LossConfig,
                steps: int = 25) -> dict[str, list[float]]:
    distill, _ = build_losses(config, student, teacher)
    assert distill is not None
    sentences = make_sentences(16, seed=9)
    features = student.preprocess(sentences)
    labels = torch.from_numpy(teacher.encode(sentences, convert_to_numpy=True))
    params = [p for p in distill.parameters() if p.requires_grad]
    assert not any(p is q for p in params for q in teacher.parameters())  # the teacher stays frozen
    optimizer = torch.optim.Adam(params, lr=3e-3)
    history: dict[str, list[float]] = {}
    for _ in range(steps):
        parts = distill([dict(features)], labels)
        total = sum(parts.values())
        optimizer.zero_grad()
        total.backward()  # type: ignore[union-attr]
        optimizer.step()
        for name, value in parts.items():
            history.setdefault(name, []).append(value.item())
    return history


def test_hidden_and_attention_losses_fall(tiny_teacher) -> None:
    torch.manual_seed(0)
    student = prune_layers(tiny_teacher, [0, 2])
    with torch.no_grad():  # move the student away from the teacher, so there is something to learn
        for param in student.parameters():
            param.add_(0.3 * torch.randn_like(param))
    history = train_steps(student, tiny_teacher, loss_config(mse=1, hidden=1, attention=1))
    assert set(history) == {"mse", "hidden", "attention"}
    assert history["hidden"][-1] < 0.5 * history["hidden"][0]
    assert history["attention"][-1] < history["attention"][0]
    assert history["attention"][0] > 0


def test_relation_transfer_across_head_counts(tiny_teacher, tiny_other_dir: Path) -> None:
    torch.manual_seed(0)
    student = SentenceTransformer(str(tiny_other_dir), device="cpu")  # 2 heads x 8 vs teacher 4 heads x 8
    config = loss_config(mse=0, attention=1, relation_heads=4)  # dims differ: no embedding loss here
    history = train_steps(student, tiny_teacher, config)
    assert history["attention"][-1] < history["attention"][0]


def test_distribution_transfer_needs_equal_heads() -> None:
    with pytest.raises(ConfigError, match="needs equal head counts"):
        AttentionTransferLoss([0], AttentionMode.DISTRIBUTION, 2, 4, 16, 32)
    with pytest.raises(ConfigError, match="must divide both hidden sizes"):
        AttentionTransferLoss([0], AttentionMode.RELATION, 2, 4, 16, 32, relation_heads=12)
    assert AttentionTransferLoss([0], AttentionMode.AUTO, 2, 4, 16, 32, 4).mode is AttentionMode.RELATION
    assert AttentionTransferLoss([0], AttentionMode.AUTO, 4, 4, 32, 32).mode is AttentionMode.DISTRIBUTION


def test_layer_map_is_validated(tiny_teacher) -> None:
    student = prune_layers(tiny_teacher, [0, 3])
    with pytest.raises(ConfigError, match=r"loss\.layer_map"):
        build_losses(loss_config(hidden=1, layer_map=[0, 9]), student, tiny_teacher)
    distill, task = build_losses(loss_config(mse=1, hidden=1, layer_map=[1, 3]), student, tiny_teacher)
    assert distill is not None and task is None
    assert distill.components["hidden"].layer_map == [1, 3]


def test_task_loss_is_weighted_cosent(tiny_teacher) -> None:
    student = prune_layers(tiny_teacher, [0, 3])
    distill, task = build_losses(loss_config(mse=0, task=0.5), student, tiny_teacher)
    assert distill is None and task is not None
    assert task.weight == 0.5 and type(task.loss).__name__ == "CoSENTLoss"


def test_a_pruned_student_learns_the_teacher_layers_it_kept(tiny_teacher) -> None:
    student = prune_layers(tiny_teacher, [0, 2])
    distill, _ = build_losses(loss_config(mse=1, hidden=1), student, tiny_teacher, kept_layers=[0, 2])
    assert distill is not None
    assert distill.components["hidden"].layer_map == [0, 2]  # not the evenly spread [1, 3]
    spread, _ = build_losses(loss_config(mse=1, hidden=1), student, tiny_teacher)
    assert spread is not None and spread.components["hidden"].layer_map == default_layer_map(2, 4) == [1, 3]
    explicit, _ = build_losses(loss_config(mse=1, hidden=1, layer_map=[3, 3]), student, tiny_teacher, [0, 2])
    assert explicit is not None and explicit.components["hidden"].layer_map == [3, 3]
