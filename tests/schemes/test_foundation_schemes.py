"""The first three schemes' exact effects, and apply_init's validation."""

from __future__ import annotations

import math

import pytest
import torch

from initlab.errors import ConfigError, UnknownNameError
from initlab.models import build_model, weight_layers
from initlab.schemes import SCHEMES, apply_init
from stats import assert_moments


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("model_name", ["mnist-fnn", "mnist-cnn"])
def test_pytorch_default_is_uniform_one_over_sqrt_fan_in(model_name: str) -> None:
    model = apply_init(build_model(model_name), "pytorch-default", seeded())
    for _, layer in weight_layers(model):
        fan_in = layer.weight[0].numel()
        bound = 1 / math.sqrt(fan_in)
        for tensor in (layer.weight, layer.bias):
            assert tensor.abs().max() <= bound
            if tensor.numel() >= 1000:
                assert_moments(tensor, 0.0, bound**2 / 3)


def test_pytorch_default_is_reproducible_and_differs_across_seeds() -> None:
    a = apply_init(build_model("mnist-cnn"), "pytorch-default", seeded(1))
    b = apply_init(build_model("mnist-cnn"), "pytorch-default", seeded(1))
    c = apply_init(build_model("mnist-cnn"), "pytorch-default", seeded(2))
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
        assert not torch.equal(pa, pc)


def test_pytorch_default_resets_norm_layers() -> None:
    model = build_model("cifar-cnn", input_shape=(3, 32, 32))
    with torch.no_grad():
        model.bn1.weight.fill_(3.0)
        model.bn1.running_mean.fill_(5.0)
    apply_init(model, "pytorch-default", seeded())
    assert torch.equal(model.bn1.weight, torch.ones(64))
    assert torch.equal(model.bn1.running_mean, torch.zeros(64))


def test_zeros_makes_every_weight_and_bias_exactly_zero() -> None:
    model = apply_init(build_model("cifar-cnn", input_shape=(3, 32, 32)), "zeros", seeded())
    for _, layer in weight_layers(model):
        assert torch.count_nonzero(layer.weight) == 0
        assert torch.count_nonzero(layer.bias) == 0
    assert torch.equal(model.bn1.weight, torch.ones(64))  # norm layers keep their identity


@pytest.mark.parametrize(
    ("dist", "scale", "shift", "mean", "var"),
    [
        ("normal", 1.0, 0.0, 0.0, 1.0),
        ("normal", 0.01, 0.5, 0.5, 1e-4),
        ("normal", 100.0, 0.0, 0.0, 1e4),
        ("uniform", 1.0, 0.0, 0.5, 1 / 12),
        ("uniform", 2.0, -1.0, 0.0, 4 / 12),
    ],
)
def test_zero_weight_random_bias(dist: str, scale: float, shift: float, mean: float, var: float) -> None:
    model = build_model("mlp", widths=[4000, 3000])
    apply_init(model, "zero-weight-random-bias", seeded(), dist=dist, scale=scale, shift=shift)
    for _, layer in weight_layers(model):
        assert torch.count_nonzero(layer.weight) == 0
    biases = torch.cat([model.fc1.bias, model.fc2.bias])
    assert_moments(biases, mean, var)
    if dist == "uniform":
        assert biases.min() >= shift and biases.max() < shift + scale
    assert not torch.equal(model.fc1.bias[:3000], model.fc2.bias)  # independent draws per layer


def test_zero_weight_random_bias_covers_conv_layers() -> None:
    model = apply_init(build_model("mnist-cnn"), "zero-weight-random-bias", seeded())
    assert torch.count_nonzero(model.conv1.weight) == 0 and torch.count_nonzero(model.conv2.weight) == 0
    assert torch.count_nonzero(model.conv2.bias) == 32


def test_init_is_identical_on_every_device_it_is_drawn_for() -> None:
    """Draws happen on the CPU, so a CUDA copy gets the same numbers (checked on CUDA when present)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a = apply_init(build_model("mnist-fnn"), "zero-weight-random-bias", seeded(3))
    b = apply_init(build_model("mnist-fnn").to(device), "zero-weight-random-bias", seeded(3))
    assert torch.equal(a.fc1.bias, b.fc1.bias.cpu())


def test_default_generator_follows_torch_manual_seed() -> None:
    torch.manual_seed(7)
    a = apply_init(build_model("mnist-fnn"), "pytorch-default")
    torch.manual_seed(7)
    b = apply_init(build_model("mnist-fnn"), "pytorch-default")
    assert torch.equal(a.fc1.weight, b.fc1.weight)


def test_registry_entries_carry_family_and_formula() -> None:
    for name in ("pytorch-default", "zeros", "zero-weight-random-bias"):
        entry = SCHEMES.get(name)
        assert entry.meta["family"] in ("classic", "seed")
        assert len(entry.doc) > 80


def test_bad_scheme_names_and_params_name_the_allowed_values() -> None:
    model = build_model("mnist-fnn")
    with pytest.raises(
        UnknownNameError, match=r"unknown scheme 'zeroes'.*allowed: .*zero-weight-random-bias"
    ):
        apply_init(model, "zeroes")
    with pytest.raises(ConfigError, match=r"dist='gamma' is invalid.*'normal' or 'uniform'"):
        apply_init(model, "zero-weight-random-bias", dist="gamma")
    with pytest.raises(ConfigError, match=r"scale=-1.0 is invalid.*greater than or equal to 0"):
        apply_init(model, "zero-weight-random-bias", scale=-1.0)
    with pytest.raises(ConfigError, match=r"unknown parameter 'std'.*allowed: dist, scale, shift"):
        apply_init(model, "zero-weight-random-bias", std=1.0)
