"""The Fréchet distance: zero for a set with itself, exactly ‖δ‖² for a shift, symmetric."""

from __future__ import annotations

import pytest
import torch

from initlab.tasks.frechet import frechet_distance, psd_sqrt


def features(seed: int = 0, n: int = 400, d: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.randn(
        d, d, generator=g, dtype=torch.float64
    )


def test_a_set_with_itself_is_at_distance_zero() -> None:
    a = features()
    assert abs(frechet_distance(a, a)) < 1e-9 * a.square().sum(1).mean().item()


def test_a_shift_adds_its_squared_length() -> None:
    a = features()
    shift = torch.tensor([3.0, 0, 0, -4.0, 0, 0], dtype=torch.float64)
    assert frechet_distance(a, a + shift) == pytest.approx(25.0, rel=1e-9)
    assert frechet_distance(a, a + 2 * shift) == pytest.approx(100.0, rel=1e-9)


def test_it_matches_the_scalar_formula_and_is_symmetric() -> None:
    a, b = features(0, d=1), features(1, d=1) * 3 + 1
    ma, mb, va, vb = a.mean(), b.mean(), a.var(), b.var()
    expected = (ma - mb) ** 2 + va + vb - 2 * (va * vb).sqrt()  # 1-D: (μa−μb)² + (σa−σb)²
    assert frechet_distance(a, b) == pytest.approx(expected.item(), rel=1e-9)
    c = features(2)
    assert frechet_distance(features(), c) == pytest.approx(frechet_distance(c, features()), rel=1e-8)


def test_psd_sqrt_squares_back() -> None:
    m = torch.cov(features().T)
    root = psd_sqrt(m)
    assert torch.allclose(root @ root, m, atol=1e-9 * m.abs().max().item())
