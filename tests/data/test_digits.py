"""scikit-learn's 8×8 digits, read without importing scikit-learn, split into the first 80% / last 20%."""

from __future__ import annotations

import numpy as np
import torch

from initlab.data import load_dataset


def test_digits_shapes_classes_and_split() -> None:
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert (len(train), len(test)) == (1437, 360)
    assert train.input_shape == test.input_shape == (1, 8, 8)
    assert train.num_classes == 10 and (train.class_counts > 0).all() and (test.class_counts > 0).all()
    assert train.x.min().item() == 0.0 and train.x.max().item() == 1.0


def test_digits_match_scikit_learn() -> None:
    from sklearn.datasets import load_digits

    reference = load_digits()
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    x = torch.cat([train.x, test.x]).numpy()
    np.testing.assert_array_equal(x[:, 0] * 16, reference.images)
    np.testing.assert_array_equal(torch.cat([train.y, test.y]).numpy(), reference.target)
