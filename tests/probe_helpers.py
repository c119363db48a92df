"""Helpers of the probe tests: real digits batches, a constant init, a small residual block."""

from __future__ import annotations

import torch
from torch import nn

from initlab.data import load_dataset


def digits_batches(
    count: int, batch_size: int = 64, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` batches of sklearn's digits (cycling through a seeded permutation of the 1,437 images)."""
    data = load_dataset("digits", "train")
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    usable = len(data) // batch_size * batch_size
    return [
        (data.x[idx], data.y[idx])
        for i in range(count)
        for idx in [perm[(i * batch_size) % usable : (i * batch_size) % usable + batch_size]]
    ]


def constant_(model: nn.Module, weight: float = 0.05, bias: float = 0.01) -> nn.Module:
    """Every Linear/Conv weight = ``weight`` and bias = ``bias`` (a constant init, written here)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                module.weight.fill_(weight)
                if module.bias is not None:
                    module.bias.fill_(bias)
    return model


class Residual(nn.Module):
    """``skip + f2(tanh(f1(skip)))``: a two-layer residual branch on a width-``width`` stream."""

    def __init__(self, width: int):
        super().__init__()
        self.f1, self.f2 = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f2(torch.tanh(self.f1(x)))
