"""ZerO: deterministic, identity on square layers, partial identity and scaled Hadamard elsewhere."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.data import load_dataset
from initlab.models import branches_removed, build_model, residual_branches
from initlab.schemes import apply_init
from initlab.schemes.zero import hadamard, zero_matrix


def test_two_inits_are_identical_whatever_the_generator() -> None:
    a = apply_init(
        build_model("resnet-cifar", input_shape=(1, 8, 8), depth=14), "zero", torch.Generator().manual_seed(1)
    )
    b = apply_init(
        build_model("resnet-cifar", input_shape=(1, 8, 8), depth=14), "zero", torch.Generator().manual_seed(2)
    )
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb), name


def test_square_layers_are_the_identity() -> None:
    linear = apply_init(nn.Linear(32, 32), "zero")
    assert torch.equal(linear.weight, torch.eye(32)) and torch.count_nonzero(linear.bias) == 0
    conv = apply_init(nn.Conv2d(8, 8, 3, padding=1), "zero")
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(conv(x), x)
    assert torch.count_nonzero(conv.weight[:, :, 0]) == 0  # every tap but the centre is 0


def test_shrinking_layers_get_a_partial_identity() -> None:
    layer = apply_init(nn.Linear(64, 10), "zero")
    assert torch.equal(layer.weight, torch.eye(10, 64))


@pytest.mark.parametrize(("scale", "c"), [("paper", 2.0**-3), ("notebook", 2.0**-3.5)])
def test_expanding_layers_get_a_scaled_hadamard(scale: str, c: float) -> None:
    layer = apply_init(nn.Linear(64, 100), "zero", hadamard_scale=scale)  # m = ⌈log₂ 100⌉ = 7
    expected = (c * hadamard(7)[:100, :64]).float()
    assert torch.equal(layer.weight, expected) and torch.all(layer.weight.abs() == expected.abs().max())
    assert torch.linalg.matrix_rank(layer.weight) == 64  # full rank, unlike a partial identity (rank ≤ in)
    # Sylvester's H_7 = H_1 ⊗ H_6: rows i and i + 64 agree on the first 64 columns, so those units start alike
    assert torch.equal(layer.weight[64:], layer.weight[:36])


def test_hadamard_rows_are_orthogonal() -> None:
    h = hadamard(5)
    assert torch.equal(h @ h.T, 32 * torch.eye(32, dtype=torch.float64))
    assert torch.equal(zero_matrix(4, 4), torch.eye(4, dtype=torch.float64))


def test_residual_branches_start_at_zero() -> None:
    model = apply_init(build_model("resnet-cifar", input_shape=(1, 8, 8), depth=14, norm="none"), "zero")
    assert all(torch.count_nonzero(b.last.weight) == 0 for b in residual_branches(model))
    x = load_dataset("digits", "test").x[:16]
    with branches_removed(model):
        stripped = model(x)
    assert torch.equal(model(x), stripped)
    matrix = apply_init(
        build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8), "zero", branch_last="matrix"
    )
    assert torch.equal(matrix.layer1[0].branch.conv2.weight[:, :, 1, 1], torch.eye(16))
