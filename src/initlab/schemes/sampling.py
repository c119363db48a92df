"""In-place fills drawn from a CPU generator, whatever device the tensor lives on.

Drawing on the CPU and copying keeps an init identical across devices for the same seed.
"""

from __future__ import annotations

import torch


def uniform_(tensor: torch.Tensor, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` with U[low, high)."""
    sample = torch.empty(tensor.shape, dtype=tensor.dtype).uniform_(low, high, generator=generator)
    return tensor.copy_(sample)


def normal_(tensor: torch.Tensor, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` with N(mean, std²)."""
    sample = torch.empty(tensor.shape, dtype=tensor.dtype).normal_(mean, std, generator=generator)
    return tensor.copy_(sample)


def fork_seed(generator: torch.Generator) -> int:
    """A fresh integer seed drawn from ``generator`` (to seed code that only uses the global RNG)."""
    return int(torch.randint(2**62, (1,), generator=generator).item())
