"""The Dataset container and train_val_split."""

from __future__ import annotations

import pytest
import torch

from initlab.data import Dataset, train_val_split
from initlab.data.dataset import split_indices
from initlab.errors import ConfigError


@pytest.fixture
def numbered() -> Dataset:
    """100 samples whose single feature is their index."""
    x = torch.arange(100, dtype=torch.float32).reshape(100, 1, 1, 1)
    return Dataset("numbered", "train", x, torch.arange(100) % 4, 4)


def ids(data: Dataset) -> set[int]:
    return set(data.x.flatten().long().tolist())


def test_split_sizes_and_disjointness(numbered: Dataset) -> None:
    train, val = train_val_split(numbered, 30, seed=0)
    assert (len(train), len(val)) == (70, 30)
    assert (train.split, val.split) == ("train", "val")
    assert ids(train) | ids(val) == set(range(100)) and not ids(train) & ids(val)
    assert torch.equal(val.y, val.x.flatten().long() % 4)  # labels travel with their samples


def test_split_is_deterministic_per_seed(numbered: Dataset) -> None:
    a, b, c = (train_val_split(numbered, 30, seed=s)[1] for s in (1, 1, 2))
    assert torch.equal(a.x, b.x)
    assert ids(a) != ids(c)


@pytest.mark.parametrize("val_size", [-1, 100])
def test_split_rejects_out_of_range_sizes(numbered: Dataset, val_size: int) -> None:
    with pytest.raises(ConfigError, match=f"val_size={val_size} is out of range"):
        train_val_split(numbered, val_size, seed=0)


def test_dataset_checks_dtypes() -> None:
    with pytest.raises(ValueError, match="x must be float32"):
        Dataset("bad", "train", torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="y must be int64"):
        Dataset("bad", "train", torch.zeros(3, 1, 1, 4), torch.zeros(3, dtype=torch.int32), 2)


def test_train_size_keeps_the_first_of_the_rest_and_refuses_what_the_set_lacks() -> None:
    train, val = split_indices(100, 20, seed=3, name="numbers", train_size=30)
    full_train, full_val = split_indices(100, 20, seed=3, name="numbers")
    assert torch.equal(train, full_train[:30]) and torch.equal(val, full_val)
    assert len(split_indices(100, 20, seed=3, train_size=80)[0]) == 80
    for train_size in (81, 0):
        with pytest.raises(
            ConfigError, match=f"train_size={train_size} is out of range for numbers: allowed 1 <= "
        ):
            split_indices(100, 20, seed=3, name="numbers", train_size=train_size)
