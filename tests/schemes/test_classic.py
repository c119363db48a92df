"""The classic family: each formula's variance on large layers, bounds, bias policies, identity maps."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from initlab.errors import ConfigError, SchemeError
from initlab.schemes import SCHEMES, apply_init
from initlab.schemes.rules import gain
from initlab.schemes.sampling import truncated_std
from stats import assert_moments

# Large layers: a 1000×2000 Linear (2M weights) and a 3×3 conv 64→128 (73,728 weights).
LINEAR_FANS = (2000, 1000)  # fan_in, fan_out
CONV_FANS = (64 * 9, 128 * 9)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def layers() -> list[tuple[nn.Module, tuple[int, int]]]:
    return [(nn.Linear(2000, 1000), LINEAR_FANS), (nn.Conv2d(64, 128, 3), CONV_FANS)]


def fan_avg(fi: int, fo: int) -> float:
    return (fi + fo) / 2


# (scheme, params, variance as a function of (fan_in, fan_out), bound or None)
CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("pytorch-default", {}, lambda fi, fo: 1 / (3 * fi), lambda fi, fo: 1 / math.sqrt(fi)),
    ("lecun-normal", {}, lambda fi, fo: 1 / fi, None),
    ("lecun-uniform", {}, lambda fi, fo: 1 / fi, lambda fi, fo: math.sqrt(3 / fi)),
    ("xavier-normal", {}, lambda fi, fo: 2 / (fi + fo), None),
    ("xavier-normal", {"gain": 2.0}, lambda fi, fo: 8 / (fi + fo), None),
    ("xavier-uniform", {}, lambda fi, fo: 2 / (fi + fo), lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("he-normal", {}, lambda fi, fo: 2 / fi, None),
    ("he-normal", {"mode": "fan_out", "nonlinearity": "tanh"}, lambda fi, fo: (5 / 3) ** 2 / fo, None),
    ("he-normal", {"nonlinearity": "leaky_relu", "negative_slope": 0.2}, lambda fi, fo: 2 / 1.04 / fi, None),
    ("he-uniform", {}, lambda fi, fo: 2 / fi, lambda fi, fo: math.sqrt(6 / fi)),
    ("he-uniform", {"mode": "fan_out"}, lambda fi, fo: 2 / fo, lambda fi, fo: math.sqrt(6 / fo)),
    ("normal", {"std": 0.05}, lambda fi, fo: 0.05**2, None),
    ("trunc-normal", {"std": 0.02}, lambda fi, fo: (0.02 * truncated_std(2.0)) ** 2, lambda fi, fo: 0.04),
    ("trunc-normal", {"std": 0.1, "cutoff": 1.0},
     lambda fi, fo: (0.1 * truncated_std(1.0)) ** 2, lambda fi, fo: 0.1),
    ("variance-scaling", {}, lambda fi, fo: 1 / fi, lambda fi, fo: 2 / math.sqrt(fi) / 0.87962566103423978),
    ("variance-scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "normal"},
     lambda fi, fo: 2 / fan_avg(fi, fo), None),
    ("variance-scaling", {"scale": 3.0, "mode": "fan_out", "distribution": "uniform"},
     lambda fi, fo: 3 / fo, lambda fi, fo: math.sqrt(9 / fo)),
]  # fmt: skip


@pytest.mark.parametrize(("scheme", "params", "variance", "bound"), CASES)
def test_variance_on_large_layers_matches_the_formula(
    scheme: str, params: dict, variance: Any, bound: Any
) -> None:
    for layer, (fi, fo) in layers():
        apply_init(layer, scheme, seeded(), **params)
        assert_moments(layer.weight, 0.0, variance(fi, fo))
        if bound is not None:
            assert layer.weight.abs().max() <= bound(fi, fo) * (1 + 1e-6)


def test_truncated_std_is_the_known_constant() -> None:
    assert truncated_std(2.0) == pytest.approx(0.87962566103423978, rel=1e-12)


def test_uniform_is_u_low_high() -> None:
    layer = nn.Linear(2000, 1000)
    apply_init(layer, "uniform", seeded(), low=0.0, high=0.3)
    assert_moments(layer.weight, 0.15, 0.3**2 / 12)
    assert layer.weight.min() >= 0.0 and layer.weight.max() < 0.3
    with pytest.raises(ConfigError, match=r"uniform needs low < high, got low=1.0, high=0.0"):
        apply_init(layer, "uniform", seeded(), low=1.0, high=0.0)


def test_constant_and_zeros_fill_every_weight() -> None:
    layer = nn.Conv2d(3, 8, 3)
    apply_init(layer, "constant", seeded(), value=0.25)
    assert torch.all(layer.weight == 0.25) and torch.count_nonzero(layer.bias) == 0
    apply_init(layer, "zeros", seeded())
    assert torch.count_nonzero(layer.weight) == 0


@pytest.mark.parametrize(("shape", "gain_"), [((100, 300), 1.0), ((300, 100), 2.0), ((16, 8, 3, 3), 1.0)])
def test_orthogonal_is_orthogonal_times_gain(shape: tuple[int, ...], gain_: float) -> None:
    layer = nn.Linear(shape[1], shape[0]) if len(shape) == 2 else nn.Conv2d(shape[1], shape[0], shape[2])
    apply_init(layer, "orthogonal", seeded(), gain=gain_)
    w = layer.weight.detach().double().flatten(1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    assert torch.allclose(gram, gain_**2 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-5)


def test_identity_and_dirac_copy_their_inputs() -> None:
    linear, conv = nn.Linear(6, 4), nn.Conv2d(4, 4, 3, padding=1)
    apply_init(linear, "identity", seeded())
    assert torch.equal(linear.weight, torch.eye(4, 6))
    x = torch.randn(2, 4, 5, 5)
    apply_init(conv, "identity", seeded())
    assert torch.equal(conv(x), x)
    grouped = nn.Conv2d(4, 8, 3, padding=1, groups=2)
    apply_init(grouped, "dirac", seeded(), groups=2)
    out = grouped(x)
    assert torch.equal(out[:, 0], x[:, 0]) and torch.equal(out[:, 4], x[:, 2])  # channel 0 of each group
    with pytest.raises(SchemeError, match="groups=3 does not divide the 8 output channels"):
        apply_init(grouped, "dirac", seeded(), groups=3)


@pytest.mark.parametrize(
    ("policy", "scale", "mean", "var", "bound"),
    [
        ("normal", 0.5, 0.0, 0.25, None),
        ("uniform", 0.5, 0.0, 0.25 / 3, 0.5),
        ("pytorch-default", 0.0, 0.0, 1 / (3 * 100), 0.1),
    ],
)
def test_bias_policies(policy: str, scale: float, mean: float, var: float, bound: float | None) -> None:
    layers_ = [nn.Linear(100, 100) for _ in range(40)]
    model = nn.Sequential(*layers_)
    apply_init(model, "he-normal", seeded(), bias=policy, bias_scale=scale)
    biases = torch.cat([layer.bias for layer in layers_])
    assert_moments(biases, mean, var)
    if bound is not None:
        assert biases.abs().max() <= bound


def test_bias_keep_and_zeros() -> None:
    layer = nn.Linear(10, 10)
    before = layer.bias.detach().clone()
    apply_init(layer, "xavier-uniform", seeded(), bias="keep")
    assert torch.equal(layer.bias, before)
    apply_init(layer, "xavier-uniform", seeded())
    assert torch.count_nonzero(layer.bias) == 0


def test_layerwise_schemes_leave_norm_layers_and_embeddings_alone() -> None:
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 4), nn.LayerNorm(4))
    embedding = model[0].weight.detach().clone()
    with torch.no_grad():
        model[2].weight.fill_(3.0)
    apply_init(model, "he-normal", seeded())
    assert torch.equal(model[0].weight, embedding) and torch.all(model[2].weight == 3.0)


def test_gains() -> None:
    assert gain("relu") == math.sqrt(2) and gain("tanh") == 5 / 3 and gain("linear") == 1.0
    assert gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert gain("selu") == 1.0 != nn.init.calculate_gain("selu")  # torch says 3/4; SNNs use LeCun


@pytest.mark.parametrize("scheme", [e.name for e in SCHEMES if e.meta["family"] == "classic"])
def test_same_seed_same_init_other_seed_other_init(scheme: str) -> None:
    a, b, c = (apply_init(nn.Linear(50, 40), scheme, seeded(s)) for s in (1, 1, 2))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    deterministic = scheme in ("zeros", "constant", "identity", "dirac")
    assert torch.equal(a.weight, c.weight) == deterministic


def test_draws_are_device_independent() -> None:
    """Draws happen on the CPU, so a CUDA copy gets the same numbers (checked on CUDA when present)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for scheme in ("he-normal", "orthogonal", "trunc-normal", "variance-scaling"):
        a = apply_init(nn.Linear(30, 20), scheme, seeded(3))
        b = apply_init(nn.Linear(30, 20).to(device), scheme, seeded(3))
        assert torch.equal(a.weight, b.weight.cpu())
