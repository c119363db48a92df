"""The init-scheme registry and ``apply_init``.

A scheme is a function ``scheme(model, *, generator, **params) -> model`` that changes parameters in
place under ``torch.no_grad()``. It is registered with its family and paper; its keyword-only
parameters, with their type hints and defaults, are its typed, validated params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from initlab.registry import Registry

Scheme = Callable[..., nn.Module]

SCHEMES: Registry[Scheme] = Registry("scheme", injected=("generator",))


@dataclass(frozen=True)
class Paper:
    """Where a scheme comes from."""

    authors: str
    year: int | None
    title: str
    arxiv: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        where = f"arXiv {self.arxiv}" if self.arxiv else (self.url or "")
        year = f" {self.year}" if self.year else ""
        return f"{self.authors}{year}, {self.title}" + (f" ({where})" if where else "")


def register_scheme(name: str, *, family: str, paper: Paper | None) -> Callable[[Scheme], Scheme]:
    """Register a scheme function under ``name``."""
    return SCHEMES.register(name, family=family, paper=paper)


def default_generator() -> torch.Generator:
    """A CPU generator seeded from torch's global RNG, so ``torch.manual_seed`` makes inits repeatable."""
    return torch.Generator().manual_seed(int(torch.randint(2**62, (1,)).item()))


def apply_init(
    model: nn.Module, scheme: str, generator: torch.Generator | None = None, **params: Any
) -> nn.Module:
    """Apply init ``scheme`` (a name in ``SCHEMES``) to ``model`` in place and return the model.

    ``generator`` (a CPU ``torch.Generator``) makes the init reproducible; every random draw is made
    on the CPU and copied to the parameter's device, so one seed gives one init on every device.
    ``params`` are the scheme's parameters, validated against its signature.
    """
    entry = SCHEMES.get(scheme)
    kwargs = entry.validate(params)
    with torch.no_grad():
        entry.fn(model, generator=generator or default_generator(), **kwargs)
    return model
