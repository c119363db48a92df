"""Statistical assertions whose tolerances follow from the sample size."""

from __future__ import annotations

import math

import torch


def assert_moments(sample: torch.Tensor, mean: float, var: float, sigmas: float = 6.0) -> None:
    """Assert that ``sample``'s mean and variance match ``mean`` and ``var``.

    The tolerances are ``sigmas`` standard errors: SE(mean) = √(var/n) and
    SE(var̂) = √((μ₄ − var²)/n), with μ₄ the sample's fourth central moment. With sigmas = 6 a
    correct init fails about once in 10⁹ draws; a wrong formula (e.g. a factor 2 in the variance of
    a layer with thousands of weights) fails every time.
    """
    x = sample.detach().double().flatten()
    n = x.numel()
    m4 = ((x - x.mean()) ** 4).mean().item()
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt(max(m4 - var**2, 1e-300) / n)
    assert abs(x.mean().item() - mean) <= sigmas * se_mean, (
        f"mean {x.mean().item():.6g} != {mean:.6g} ± {sigmas * se_mean:.3g} (n={n})"
    )
    assert abs(x.var().item() - var) <= sigmas * se_var, (
        f"variance {x.var().item():.6g} != {var:.6g} ± {sigmas * se_var:.3g} (n={n})"
    )
