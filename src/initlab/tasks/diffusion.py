"""Gaussian diffusion for ε-prediction: the noise schedule, the forward process, and DDIM sampling.

DDPM (Ho, Jain & Abbeel 2020, arXiv 2006.11239), as openai/improved-diffusion's
``gaussian_diffusion.py`` computes it:

- the linear schedule: β_t evenly spaced from 1e-4·(1000/T) to 0.02·(1000/T), t = 1 … T, in float64
  (``get_named_beta_schedule("linear", T)``); ᾱ_t = Π_{s ≤ t} (1 − β_s);
- the forward process ``q_sample``: x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, ε ~ N(0, I);
- the loss: the mean of (ε − ε_θ(x_t, t))² over the pixels (``LossType.MSE``), t uniform in
  0 … T − 1 (0-based, as the reference indexes its arrays).

Sampling is DDIM (Song, Meng & Ermon 2020, arXiv 2010.02502, eq. 12) on a subsequence τ of the T
steps: x̂_0 = (x_t − √(1 − ᾱ_t)·ε_θ)/√ᾱ_t, clipped to [−1, 1] (improved-diffusion's
``clip_denoised``) and ε_θ recomputed from it, then x_prev = √ᾱ_prev·x̂_0 + √(1 − ᾱ_prev − σ²)·ε_θ + σ·z with
σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev); η = 0 is deterministic. Images live in [−1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``eps_model(x_t, t)``: the predicted noise, the shape of ``x_t``."""


@dataclass(frozen=True)
class Diffusion:
    """A noise schedule of ``steps`` (T) diffusion steps (the DDPM linear one)."""

    steps: int = 1000

    @cached_property
    def betas(self) -> torch.Tensor:
        """β_1 … β_T, float64: evenly spaced from 1e-4·1000/T to 0.02·1000/T."""
        scale = 1000 / self.steps
        return torch.linspace(scale * 1e-4, scale * 0.02, self.steps, dtype=torch.float64)

    @cached_property
    def alphas_cumprod(self) -> torch.Tensor:
        """ᾱ_t = Π_{s ≤ t}(1 − β_s), float64, index t − 1."""
        return torch.cumprod(1.0 - self.betas, dim=0)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, for 0-based steps ``t`` (one per image)."""
        abar = self.alphas_cumprod.to(x0.device)[t].view(-1, *([1] * (x0.dim() - 1)))
        return (abar.sqrt() * x0 + (1 - abar).sqrt() * noise).to(x0.dtype)

    def ddim_steps(self, count: int) -> list[int]:
        """``count`` 0-based steps from T − 1 down to 0, evenly spaced (rounded)."""
        if not 1 <= count <= self.steps:
            raise ValueError(f"DDIM steps must be in 1 … {self.steps}, not {count}")
        grid = torch.linspace(0, self.steps - 1, count, dtype=torch.float64).round().long()
        return sorted(set(grid.tolist()), reverse=True)

    @torch.no_grad()
    def ddim_sample(
        self,
        eps_model: Denoiser,
        noise: torch.Tensor,
        count: int,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Images in [−1, 1] from ``noise`` (x_T) by ``count`` DDIM steps (module docstring); η > 0
        draws each step's fresh noise z from ``generator`` (on the CPU)."""
        x, abar = noise, self.alphas_cumprod
        steps = self.ddim_steps(count)
        for i, t in enumerate(steps):
            a_t = float(abar[t])
            a_prev = float(abar[steps[i + 1]]) if i + 1 < len(steps) else 1.0
            t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
            eps = eps_model(x, t_batch)
            x0 = ((x - (1 - a_t) ** 0.5 * eps) / a_t**0.5).clamp(-1, 1)
            eps = (x - a_t**0.5 * x0) / (1 - a_t) ** 0.5  # the noise the clipped x̂_0 implies
            sigma = eta * ((1 - a_prev) / (1 - a_t)) ** 0.5 * (1 - a_t / a_prev) ** 0.5
            x = a_prev**0.5 * x0 + max(1 - a_prev - sigma**2, 0.0) ** 0.5 * eps
            if sigma > 0:
                z = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
                x = x + sigma * z
        return x
