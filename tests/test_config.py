"""Run configs: field validation, keys, TOML files and CLI assignments (names resolve in
``initlab.train``: tests/train/test_resolve.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.config import (
    LATER_FIELDS,
    PLACEMENT_FIELDS,
    config_key,
    load_config,
    make_config,
    parse_assignment,
)
from initlab.errors import ConfigError


def test_a_config_checks_its_fields_only_and_keys_what_it_holds() -> None:
    """Names and params are the registries' business: the config keeps them as given."""
    a = make_config({"init": "no-such-scheme", "init_params": {"scale": "1"}})
    assert a.init == "no-such-scheme" and a.init_params == {"scale": "1"}
    assert a.key() == make_config({"init": "no-such-scheme", "init_params": {"scale": "1"}}).key()
    assert a.key() != a.model_copy(update={"seed": 1}).key()
    assert a.key() == a.model_copy(update={"device": "cuda"}).key()  # where it runs is not what it is


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lr": -1}, r"lr=-1 is invalid: Input should be greater than 0"),
        ({"optimizer": "rmsprop"}, r"optimizer='rmsprop' is invalid.*'sgd', 'adam' or 'adamw'"),
        ({"epochs": "ten"}, r"epochs='ten' is invalid"),
        ({"learning_rate": 0.1}, r"unknown config field 'learning_rate'; allowed: dataset,"),
        ({"momentum": 0.9}, r"momentum and nesterov apply to optimizer='sgd' only"),
        ({"device": "tpu"}, r"device='tpu' is not allowed; allowed: auto, cpu, cuda"),
    ],
)
def test_bad_values_give_one_clear_error(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config(data)


def test_toml_file_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'init = "zero-weight-random-bias"\nepochs = 3\n[init_params]\ndist = "uniform"\nscale = 2.0\n'
    )
    config = load_config(path, {"epochs": 5, "init_params": {"shift": -1}})
    assert config.epochs == 5
    assert config.init_params == {"dist": "uniform", "scale": 2.0, "shift": -1}  # merged key by key


def test_missing_and_malformed_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml' is not valid TOML"):
        load_config(bad)


def test_cli_assignments_read_toml_values() -> None:
    assert parse_assignment("scale=1") == ("scale", 1)
    assert parse_assignment("widths=[500, 300]") == ("widths", [500, 300])
    assert parse_assignment("dist=normal") == ("dist", "normal")
    assert parse_assignment("flag=true") == ("flag", True)
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignment("scale")


def test_the_lr_boost_keys_only_when_set_and_needs_its_steps() -> None:
    """``boost_steps``/``boost`` came after stored runs: at their defaults they leave the key as it was."""
    plain = make_config({"epochs": 3})
    assert plain.key() == make_config({"epochs": 3, "boost_steps": 0, "boost": 1.0}).key()
    before = plain.model_dump(mode="json", exclude=PLACEMENT_FIELDS | set(LATER_FIELDS))
    assert plain.key() == config_key(before)  # the key the config had before the fields existed
    boosted = make_config({"epochs": 3, "boost_steps": 5, "boost": 10.0})
    assert boosted.key() != plain.key()
    assert boosted.key() != make_config({"epochs": 3, "boost_steps": 6, "boost": 10.0}).key()
    with pytest.raises(ConfigError, match=r"boost=10.0 needs boost_steps > 0"):
        make_config({"boost": 10.0})
