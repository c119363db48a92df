"""Sweep specs: product expansion with zip groups, ranges, bundles, stable keys, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.sweep import expand, load_sweep, make_spec, parse_axis, plan
from initlab.train import resolve_config

BASE = {"dataset": "synthetic-blobs", "model": "mlp", "epochs": 1}


def test_a_toml_sweep_expands_as_a_product_with_zip_groups(tmp_path: Path) -> None:
    path = tmp_path / "lr-grid.toml"
    path.write_text(
        """
zip = [["optimizer", "lr"]]
[base]
dataset = "synthetic-blobs"
model = "mlp"
model_params = { width = 16, depth = 2 }
epochs = 1
[axes]
init = ["pytorch-default", "zero-weight-random-bias"]
optimizer = ["sgd", "adam"]
lr = [0.1, 1e-3]
model_params.activation = ["relu", "tanh"]
seed = "0..2"
"""
    )
    spec = load_sweep(path)
    assert spec.name == "lr-grid"
    assert list(spec.axes) == ["init", "optimizer", "lr", "model_params.activation", "seed"]
    points = plan(spec)
    assert len(points) == 2 * 2 * 2 * 3  # init × (optimizer, lr) × activation × seed
    assert {(p.config.optimizer, p.config.lr) for p in points} == {("sgd", 0.1), ("adam", 1e-3)}
    first, last = points[0].config, points[-1].config
    assert (first.init, first.optimizer, first.model_params["activation"], first.seed) == (
        "pytorch-default",
        "sgd",
        "relu",
        0,
    )
    assert (last.init, last.optimizer, last.model_params["activation"], last.seed) == (
        "zero-weight-random-bias",
        "adam",
        "tanh",
        2,
    )
    assert [p.config.seed for p in points[:3]] == [0, 1, 2]  # the last axis varies fastest
    assert first.model_params == {"widths": None, "depth": 2, "width": 16, "activation": "relu", "bias": True}
    assert points[8].values == {  # (optimizer, lr) #1 × activation #0 × seed #2
        "init": "pytorch-default",
        "optimizer": "adam",
        "lr": 1e-3,
        "model_params.activation": "relu",
        "seed": 2,
    }


def test_keys_are_the_run_configs_keys_and_stable_across_plans() -> None:
    spec = make_spec({"name": "s", "base": BASE, "axes": {"seed": [0, 1], "lr": [0.1, "0.1", 1e-1, 0.2]}})
    points = plan(spec)
    # "0.1" and 1e-1 resolve to the same config as 0.1: one run each, not three
    assert len(points) == 2 * 2
    assert [p.key for p in points] == [
        resolve_config(RunConfig(**BASE, seed=s, lr=lr)).key() for s in (0, 1) for lr in (0.1, 0.2)
    ]
    assert [p.key for p in plan(spec)] == [p.key for p in points]
    assert [c.key() for c in expand(spec)] == [p.key for p in points]


def test_a_bundle_axis_sets_fields_together() -> None:
    spec = make_spec(
        {
            "name": "bias",
            "base": BASE,
            "axes": {
                "scheme": [
                    {"init": "pytorch-default"},
                    {"init": "zero-weight-random-bias", "init_params": {"scale": 0.01}},
                    {"init": "zero-weight-random-bias", "init_params.scale": 100},
                ],
                "seed": [0, 1],
            },
        }
    )
    configs = expand(spec)
    assert [(c.init, c.init_params.get("scale"), c.seed) for c in configs] == [
        ("pytorch-default", None, 0),
        ("pytorch-default", None, 1),
        ("zero-weight-random-bias", 0.01, 0),
        ("zero-weight-random-bias", 0.01, 1),
        ("zero-weight-random-bias", 100.0, 0),
        ("zero-weight-random-bias", 100.0, 1),
    ]


def test_base_params_merge_with_axis_params() -> None:
    base = BASE | {"init": "zero-weight-random-bias", "init_params": {"dist": "uniform"}}
    configs = expand(make_spec({"name": "m", "base": base, "axes": {"init_params.scale": [0.01, 1]}}))
    assert [c.init_params for c in configs] == [
        {"dist": "uniform", "scale": 0.01, "shift": 0.0},
        {"dist": "uniform", "scale": 1.0, "shift": 0.0},
    ]


def test_cli_overrides_a_base_file_and_adds_axes(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text('dataset = "synthetic-blobs"\nmodel = "mlp"\nepochs = 3\n')
    (tmp_path / "s.toml").write_text('base = "run.toml"\n[axes]\nseed = [0, 1]\n')
    spec = load_sweep(tmp_path / "s.toml", base={"epochs": 1}, axes={"lr": [0.1, 0.01]}, zip=[["seed", "lr"]])
    assert [(c.epochs, c.seed, c.lr) for c in expand(spec)] == [(1, 0, 0.1), (1, 1, 0.01)]
    cli_only = load_sweep(base=BASE, axes={"seed": [0, 1]})
    assert (
        cli_only.name.startswith("sweep-")
        and cli_only.name == load_sweep(base=BASE, axes={"seed": [0, 1]}).name
    )
    assert cli_only.name != load_sweep(base=BASE, axes={"seed": [0, 2]}).name


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("seed=0..4", ("seed", [0, 1, 2, 3, 4])),
        ("lr=[0.1, 1e-3]", ("lr", [0.1, 0.001])),
        ("lr=0.1,1e-3", ("lr", [0.1, 0.001])),
        ("init=zeros, pytorch-default", ("init", ["zeros", "pytorch-default"])),
        ("epochs=3", ("epochs", [3])),
        ('scheme=[{init = "zeros"}]', ("scheme", [{"init": "zeros"}])),
    ],
)
def test_cli_axis_syntax(text: str, parsed: tuple) -> None:
    assert parse_axis(text) == parsed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"axes": {"lrr": [0.1]}}, r"axis 'lrr' is not a config field \(allowed: dataset,.*bundle"),
        ({"axes": {"lr": 0.1}}, r"axis 'lr' = 0.1 is not a list of values or a range 'a..b'"),
        ({"axes": {"seed": "4..1"}}, r"range '4..1' is empty"),
        ({"axes": {"lr": []}}, r"axis 'lr' has no values"),
        (
            {"axes": {"lr": [0.1, 0.2], "seed": [0]}, "zip": [["lr", "seed"]]},
            "equal lengths: lr has 2, seed has 1",
        ),
        ({"axes": {"lr": [0.1]}, "zip": [["lr", "momentum"]]}, "zip names 'momentum', which is not an axis"),
        (
            {"axes": {"lr": [-1.0]}},
            r"sweep 's' at lr=-1.0: lr=-1.0 is invalid: Input should be greater than 0",
        ),
        ({"axes": {"init": ["zeros", "xavier-normall"]}}, r"at init='xavier-normall': unknown scheme"),
        ({"name": "a b"}, "'a b' is not a valid sweep name"),
        ({"axis": {}}, "unknown sweep field 'axis'; allowed: name, base, axes, zip"),
    ],
)
def test_bad_specs_are_one_clear_error(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        expand(make_spec({"name": "s", "base": BASE} | data))


def test_a_missing_sweep_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_sweep(tmp_path / "nope.toml")
