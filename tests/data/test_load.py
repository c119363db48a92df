"""load_dataset's names, splits and errors, and every registered dataset's metadata."""

from __future__ import annotations

import pytest

from initlab.data import DATASETS, default_val_size, load_dataset
from initlab.errors import ConfigError, UnknownNameError

NAMES = {
    "mnist",
    "fashion-mnist",
    "cifar10",
    "digits",
    "synthetic-blobs",
    "synthetic-teacher",
    "shakespeare-char",
}


def test_every_dataset_is_registered_with_its_metadata() -> None:
    assert set(DATASETS.names()) == NAMES
    for entry in DATASETS:
        assert {"description", "val_size", "classes", "source"} <= set(entry.meta)
        assert entry.meta["description"] and "\n" not in entry.meta["description"]
        assert entry.meta["classes"] is None or len(entry.meta["classes"]) == 10
    assert DATASETS.get("cifar10").meta["classes"][3] == "cat"
    assert DATASETS.get("fashion-mnist").meta["classes"][9] == "Ankle boot"


def test_default_val_size() -> None:
    assert default_val_size("mnist") == default_val_size("cifar10") == 7000
    assert default_val_size("digits") == 300
    assert default_val_size("synthetic-blobs") == 200
    assert default_val_size("synthetic-teacher", n=500) == 50


def test_unknown_name_lists_the_allowed_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        load_dataset("mnsit")
    message = str(err.value)
    assert "'mnsit'" in message and "did you mean 'mnist'" in message
    assert all(name in message for name in NAMES)


def test_bad_split_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="split='val' is not allowed; allowed: train, test"):
        load_dataset("digits", "val")


def test_real_sets_take_no_params() -> None:
    with pytest.raises(ConfigError, match="unknown parameter 'n' for dataset 'mnist'"):
        load_dataset("mnist", "train", n=10)
