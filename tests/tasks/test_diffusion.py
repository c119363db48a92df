"""The DDPM schedule, the forward process and the DDIM sampler, against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from initlab.tasks.diffusion import Diffusion


def test_linear_schedule_matches_an_independent_computation() -> None:
    diffusion = Diffusion(1000)
    betas = np.linspace(1e-4, 0.02, 1000)  # DDPM's linear schedule, Ho et al. 2020 §4
    abar = np.cumprod(1 - betas)
    assert diffusion.betas.dtype == torch.float64
    assert np.allclose(diffusion.alphas_cumprod.numpy(), abar, rtol=1e-12, atol=0)
    # spot values, by hand: ᾱ_1 = 1 − 1e-4; ᾱ_T is about 4.04e-5
    assert diffusion.alphas_cumprod[0].item() == pytest.approx(1 - 1e-4, rel=1e-15)
    assert diffusion.alphas_cumprod[-1].item() == pytest.approx(math.prod(1 - b for b in betas), rel=1e-9)
    assert 4.0e-5 < diffusion.alphas_cumprod[-1].item() < 4.1e-5
    # improved-diffusion rescales the end points by 1000/T
    assert Diffusion(100).betas[[0, -1]].tolist() == pytest.approx([1e-3, 0.2], rel=1e-12)


def test_q_sample_is_the_closed_form() -> None:
    diffusion = Diffusion(1000)
    x0, eps = torch.rand(4, 1, 3, 3) * 2 - 1, torch.randn(4, 1, 3, 3)
    t = torch.tensor([0, 10, 500, 999])
    abar = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))[t.numpy()]
    expected = (
        np.sqrt(abar)[:, None, None, None] * x0.double().numpy()
        + np.sqrt(1 - abar)[:, None, None, None] * eps.double().numpy()
    )
    assert np.allclose(diffusion.q_sample(x0, t, eps).numpy(), expected, atol=1e-6)


def test_ddim_with_eta_zero_is_deterministic_and_inverts_an_exact_denoiser() -> None:
    diffusion = Diffusion(1000)
    x0 = torch.rand(3, 1, 4, 4) * 1.6 - 0.8
    noise = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    abar = diffusion.alphas_cumprod

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The ε that a perfect denoiser of the single image x0 predicts."""
        a = abar[t].view(-1, 1, 1, 1).float()
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    first = diffusion.ddim_sample(oracle, noise, 25)
    again = diffusion.ddim_sample(oracle, noise.clone(), 25)
    assert torch.equal(first, again)  # bitwise reproducible
    assert torch.allclose(first, x0, atol=1e-4)  # η = 0 follows the oracle back to x0
    assert diffusion.ddim_steps(5) == [999, 749, 500, 250, 0]
    # η = 1 adds fresh noise at every step; an exact denoiser still lands on x0
    noisy = diffusion.ddim_sample(oracle, noise, 25, eta=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(noisy, x0, atol=1e-3)
