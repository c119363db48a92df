"""Synthetic sets: deterministic per seed, independent streams for the task and each split."""

from __future__ import annotations

import pytest
import torch

from initlab.data import load_dataset
from initlab.data.synthetic import Teacher, blob_centres
from initlab.errors import ConfigError

NAMES = ("synthetic-blobs", "synthetic-teacher")


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bits_other_seed_other_data(name: str) -> None:
    a, b = load_dataset(name, "train", seed=3), load_dataset(name, "train", seed=3)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    c = load_dataset(name, "train", seed=4)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize("name", NAMES)
def test_shape_is_n_by_1_by_1_by_dim(name: str) -> None:
    data = load_dataset(name, "test", n=50, dim=7, classes=3)
    assert data.x.shape == (50, 1, 1, 7) and data.num_classes == 3
    assert data.y.min() >= 0 and data.y.max() < 3


@pytest.mark.parametrize("name", NAMES)
def test_train_and_test_share_no_sample(name: str) -> None:
    train, test = load_dataset(name, "train", n=500), load_dataset(name, "test", n=500)
    assert torch.cdist(train.x.flatten(1), test.x.flatten(1)).min() > 0


def test_blobs_are_balanced_and_centred_on_shared_centres() -> None:
    centres = blob_centres(dim=16, classes=4, seed=0)
    for split in ("train", "test"):
        data = load_dataset("synthetic-blobs", split, n=402, noise=0.05)
        assert data.class_counts.tolist() == [101, 101, 100, 100]
        nearest = torch.cdist(data.x.flatten(1), centres).argmin(dim=1)
        assert torch.equal(nearest, data.y)


def test_teacher_labels_both_splits() -> None:
    teacher = Teacher.from_seed(dim=16, classes=4, hidden=32, seed=5)
    for split in ("train", "test"):
        data = load_dataset("synthetic-teacher", split, seed=5)
        assert torch.equal(teacher(data.x.flatten(1)).argmax(dim=1), data.y)
        assert (data.class_counts > 0).all()


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("synthetic-blobs", {"n": -1}, "n=-1 is invalid"),
        ("synthetic-blobs", {"classes": 1}, "classes=1 is invalid"),
        ("synthetic-blobs", {"noise": -0.5}, "noise=-0.5 is invalid"),
        ("synthetic-teacher", {"hidden": 0}, "hidden=0 is invalid"),
        ("synthetic-teacher", {"noise": 1.0}, "unknown parameter 'noise'"),
    ],
)
def test_bad_params_raise_config_error(name: str, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dataset(name, "train", **params)


def test_params_are_coerced() -> None:
    data = load_dataset("synthetic-blobs", "train", n="10", dim="3")
    assert data.x.shape == (10, 1, 1, 3)
