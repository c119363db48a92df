"""In-place fills drawn from a CPU generator, whatever device the tensor lives on.

Drawing on the CPU and copying keeps an init identical across devices for the same seed.
"""

from __future__ import annotations

import math

import torch

#: Standard deviation of a standard normal truncated to [-2, 2]: variance-scaling's correction.
TRUNC2_STD = 0.87962566103423978


def _cpu_like(tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty(tensor.shape, dtype=tensor.dtype)


def uniform_(tensor: torch.Tensor, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` with U[low, high)."""
    return tensor.copy_(_cpu_like(tensor).uniform_(low, high, generator=generator))


def normal_(tensor: torch.Tensor, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` with N(mean, std²)."""
    return tensor.copy_(_cpu_like(tensor).normal_(mean, std, generator=generator))


def trunc_normal_(
    tensor: torch.Tensor, mean: float, std: float, cutoff: float, generator: torch.Generator
) -> torch.Tensor:
    """Fill ``tensor`` with N(mean, std²) truncated to mean ± cutoff·std (the cut is in units of std)."""
    sample = torch.nn.init.trunc_normal_(_cpu_like(tensor), 0.0, 1.0, -cutoff, cutoff, generator=generator)
    return tensor.copy_(sample.mul_(std).add_(mean))


def truncated_std(cutoff: float) -> float:
    """The std of a standard normal truncated to [−cutoff, cutoff]: √(1 − 2cφ(c)/(2Φ(c) − 1))."""
    pdf = math.exp(-(cutoff**2) / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(cutoff / math.sqrt(2))
    return math.sqrt(1 - 2 * cutoff * pdf / mass)


def orthogonal_(tensor: torch.Tensor, gain: float, generator: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` (flattened to rows × rest) with a sign-corrected QR orthogonal matrix × ``gain``."""
    sample = torch.empty(tensor.shape, dtype=torch.float64)
    torch.nn.init.orthogonal_(sample, gain, generator=generator)
    return tensor.copy_(sample)


def fork_seed(generator: torch.Generator) -> int:
    """A fresh integer seed drawn from ``generator`` (to seed code that only uses the global RNG)."""
    return int(torch.randint(2**62, (1,), generator=generator).item())
