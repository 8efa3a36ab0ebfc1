"""The loss registry (compress.config.losses) is the one place a loss is declared: every entry has its file and
``build``, is a config key with its default, is checked for its needs, and stays out of the stage keys at 0 when it
is new."""

from __future__ import annotations

import importlib

import pytest

from compress.config import LOSSES, LossSpec, StudentKind, load_config
from compress.config.losses import TRANSFORMERS, loss_spec
from compress.errors import ConfigError


@pytest.mark.parametrize("spec", LOSSES, ids=lambda s: s.name)
def test_every_registered_loss_has_its_file_and_build(spec: LossSpec) -> None:
    module = importlib.import_module(f"compress.distill.losses.{spec.name}")
    assert callable(module.build), f"compress/distill/losses/{spec.name}.py has no build(context)"


def test_every_registered_loss_is_a_config_key_with_its_default() -> None:
    config = load_config(None, ["loss.similarity=0.5"])
    written = config.to_dict()["loss"]
    for spec in LOSSES:
        assert spec.name in written
        assert config.loss.weight(spec.name) == (0.5 if spec.name == "similarity" else
                                                 load_config().loss.weight(spec.name))
    with pytest.raises(ConfigError, match=r"unknown config key 'loss\.weights'"):
        load_config(None, ["loss.weights={}"])
    with pytest.raises(ConfigError, match=r"unknown config key 'loss\.l1'") as err:
        load_config(None, ["loss.l1=1.0"])
    assert all(spec.name in str(err.value.hint) for spec in LOSSES)


@pytest.mark.parametrize("spec", [s for s in LOSSES if s.students is not None], ids=lambda s: s.name)
def test_a_loss_needs_its_students(spec: LossSpec) -> None:
    wrong = next(kind for kind in StudentKind if kind not in spec.students)
    overrides = [f"loss.{spec.name}=1.0", f"student.kind={wrong.value!r}", "student.keep_layers=none"]
    with pytest.raises(ConfigError, match=rf"'loss\.{spec.name}'"):
        load_config(None, overrides)


def test_new_losses_stay_out_of_the_keys_at_zero() -> None:
    """Losses added after the first six are left out of the cache and stage keys while their weight is 0, so a recipe
    that does not use them keeps its finished stages (the recipe holds keep at 0.3: here it is set to 0)."""
    config = load_config(None, ["loss.keep=0"])
    keyed = config.key_dict()["loss"]
    for spec in LOSSES:
        assert (spec.name in keyed) == spec.keyed_when_off
    assert "keep" in load_config(None, ["loss.keep=0.1", "student.kind='pretrained'"]).key_dict()["loss"]
    assert loss_spec("hidden").students == TRANSFORMERS
    with pytest.raises(KeyError, match="no loss named"):
        loss_spec("l1")
