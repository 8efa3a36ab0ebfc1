from __future__ import annotations

import pytest
import torch

from compress.distill.students import evenly_spread, find_layer_list, prune_layers
from compress.errors import ConfigError


def test_evenly_spread() -> None:
    assert evenly_spread(12, 4) == [0, 4, 7, 11]
    assert evenly_spread(12, 2) == [0, 11]
    assert evenly_spread(12, 1) == [11]
    assert evenly_spread(4, 4) == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="teacher has 4 layers"):
        evenly_spread(4, 5)


def test_pruned_student_has_exactly_the_kept_layers(tiny_teacher) -> None:
    student = prune_layers(tiny_teacher, [0, 3])
    t_layers = find_layer_list(tiny_teacher[0].auto_model)
    s_layers = find_layer_list(student[0].auto_model)
    assert len(s_layers) == 2 and student[0].auto_model.config.num_hidden_layers == 2
    for s_layer, t_index in zip(s_layers, [0, 3], strict=True):
        for (name, s_param), (_, t_param) in zip(s_layer.named_parameters(), t_layers[t_index].named_parameters(),
                                                 strict=True):
            assert torch.equal(s_param, t_param), name
            assert s_param.data_ptr() != t_param.data_ptr()  # a copy, not shared
    assert len(find_layer_list(tiny_teacher[0].auto_model)) == 4  # teacher untouched
    embedding = student.encode(["a dog runs in the park."])
    assert embedding.shape == (1, 32)


def test_pruned_student_saves_and_reloads(tiny_teacher, tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    student = prune_layers(tiny_teacher, [1, 2])
    student.save(str(tmp_path / "s"))
    reloaded = SentenceTransformer(str(tmp_path / "s"), device="cpu")
    assert reloaded[0].auto_model.config.num_hidden_layers == 2
    sentences = ["a man plays the guitar.", "two dogs sleep."]
    assert torch.allclose(torch.tensor(reloaded.encode(sentences)), torch.tensor(student.encode(sentences)), atol=1e-6)


@pytest.mark.parametrize("keep", [[0, 0], [5], [], [-1]])
def test_bad_keep_layers(tiny_teacher, keep: list[int]) -> None:
    with pytest.raises(ConfigError, match=r"student\.keep_layers"):
        prune_layers(tiny_teacher, keep)


def test_ffn_pruning_keeps_the_most_important_neurons_and_the_folder_loads(tiny_teacher, tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    from compress.distill.students.pruned import ffn_linears, neuron_importance, prune_ffn
    from tests.conftest import make_sentences

    student = prune_layers(tiny_teacher, [0, 3])
    width = ffn_linears(find_layer_list(student[0].auto_model)[0])[1].out_features
    silent = [2, 5, 9]  # neurons whose output weights are zero add nothing: never kept
    for layer in find_layer_list(student[0].auto_model):
        ffn_linears(layer)[3].weight.data[:, silent] = 0
    sentences = make_sentences(20, seed=4)
    scores = neuron_importance(student, sentences)
    assert len(scores) == 2 and all(s.shape == (width,) and bool((s[silent] == 0).all()) for s in scores)
    kept = [set(s.topk(width - 8).indices.tolist()) for s in scores]
    prune_ffn(student, sentences, width - 8)
    assert student[0].auto_model.config.intermediate_size == width - 8
    for layer, keep in zip(find_layer_list(student[0].auto_model), kept, strict=True):
        _, inner, _, outer = ffn_linears(layer)
        assert inner.out_features == outer.in_features == width - 8 and not keep & set(silent)
    student.save(str(tmp_path / "s"))
    again = SentenceTransformer(str(tmp_path / "s"), device="cpu")  # stock transformers reads the new width
    torch.testing.assert_close(torch.tensor(again.encode(sentences[:3])), torch.tensor(student.encode(sentences[:3])))
    with pytest.raises(ConfigError, match=r"student\.ffn_size"):
        prune_ffn(student, sentences, width + 1)


def test_ffn_size_is_for_pruned_students(tiny_config_toml) -> None:
    from compress.config import load_config

    with pytest.raises(ConfigError, match=r"student\.ffn_size"):
        load_config(tiny_config_toml, ["student.kind='pretrained'", "student.ffn_size=8", "student.keep_layers=none"])
    with pytest.raises(ConfigError, match=r"student\.ffn_size"):
        load_config(tiny_config_toml, ["student.ffn_size=0"])
    assert load_config(tiny_config_toml, ["student.ffn_size=8"]).student.ffn_size == 8
