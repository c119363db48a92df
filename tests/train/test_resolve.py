"""Resolving run configs against the registries: checked names, resolved params, stable keys."""

from __future__ import annotations

import pytest

from initlab.config import RunConfig, make_config
from initlab.errors import ConfigError
from initlab.train import resolve_config


def test_params_are_resolved_so_equal_runs_have_equal_keys() -> None:
    a = resolve_config(make_config({"init": "zero-weight-random-bias", "init_params": {"scale": "1"}}))
    b = resolve_config(make_config({"init": "zero-weight-random-bias", "init_params": {"dist": "normal"}}))
    assert a.init_params == {"dist": "normal", "scale": 1.0, "shift": 0.0}
    assert a.key() == b.key()
    assert resolve_config(a) == a  # resolving twice changes nothing
    assert a.key() != resolve_config(make_config({"init": "zero-weight-random-bias", "seed": 1})).key()
    probes = resolve_config(RunConfig(probes={"symmetry": {"every": "4"}})).probes
    assert probes["symmetry"]["every"] == 4 and "first" in probes["symmetry"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"init": "xavier"}, r"^unknown scheme 'xavier'.*allowed:"),
        ({"model": "resnet"}, r"^unknown model 'resnet'.*allowed:"),
        ({"dataset": "imagenet"}, r"^unknown dataset 'imagenet'.*allowed:"),
        ({"probes": {"symetry": {}}}, r"^unknown probe 'symetry' \(did you mean 'symmetry'\?\)"),
        ({"init": "zero-weight-random-bias", "init_params": {"scale": -2}}, r"scale=-2 is invalid"),
        ({"model": "mlp", "model_params": {"depht": 3}}, r"unknown parameter 'depht' for model 'mlp'"),
    ],
)
def test_bad_names_and_params_give_one_clear_error(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config(make_config(data))


def test_a_module_of_the_callers_own_is_not_looked_up() -> None:
    config = RunConfig(model="my-own-net", model_params={"width": 3}, init="zeros")
    resolved = resolve_config(config, registered_model=False)
    assert (resolved.model, resolved.model_params) == ("my-own-net", {"width": 3})
    with pytest.raises(ConfigError, match="unknown model 'my-own-net'"):
        resolve_config(config)


def test_label_names_the_run() -> None:
    config = resolve_config(RunConfig(init="zero-weight-random-bias", seed=2))
    assert config.label() == "mnist-fnn/zero-weight-random-bias(dist=normal,scale=1.0,shift=0.0)/s2"
