"""The init-scheme registry and ``apply_init``.

A scheme is a function ``scheme(model, *, generator, **params) -> model`` that changes parameters in
place under ``torch.no_grad()``. It is registered with its family and paper; its keyword-only
parameters, with their type hints and defaults, are its typed, validated params.

Registry metadata a scheme may carry:

- ``layerwise=True``: it treats each weight layer on its own, so it can initialise part of a model
  (a role override in ``compose``, or the ``base`` of a residual scheme);
- ``data="required" | "optional"``: it takes a batch of inputs, ``data=`` (LSUV). ``data`` is not a
  param: it is passed beside them and never stored in a run's config;
- ``report``: a function returning rows (dataclasses) measured on a reference implementation, which
  ``initlab schemes NAME`` prints under the formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from initlab.errors import ConfigError, SchemeError
from initlab.registry import Entry, Registry

Scheme = Callable[..., nn.Module]

SCHEMES: Registry[Scheme] = Registry("scheme", injected=("generator", "data"))


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

    @property
    def short(self) -> str:
        """``Authors Year`` (``arXiv id``), for one-line listings."""
        year = f" {self.year}" if self.year else ""
        return f"{self.authors}{year}" + (f", arXiv {self.arxiv}" if self.arxiv else "")


def register_scheme(
    name: str,
    *,
    family: str,
    paper: Paper | None,
    layerwise: bool = False,
    data: Literal["required", "optional"] | None = None,
    report: Callable[[], list[Any]] | None = None,
    keyless_defaults: tuple[str, ...] = (),
) -> Callable[[Scheme], Scheme]:
    """Register a scheme function under ``name`` (the module docstring explains the metadata;
    ``keyless_defaults``: params added later, see :mod:`initlab.registry`)."""
    meta: dict[str, Any] = {"family": family, "paper": paper, "layerwise": layerwise}
    if keyless_defaults:
        meta["keyless_defaults"] = keyless_defaults
    if data is not None:
        meta["data"] = data
    if report is not None:
        meta["report"] = report
    return SCHEMES.register(name, **meta)


def default_generator() -> torch.Generator:
    """A CPU generator seeded from torch's global RNG, so ``torch.manual_seed`` makes inits repeatable."""
    return torch.Generator().manual_seed(int(torch.randint(2**62, (1,)).item()))


def takes_data(scheme: str) -> bool:
    """Whether scheme ``scheme`` accepts a data batch (``data=``)."""
    return SCHEMES.get(scheme).meta.get("data") is not None


def layerwise_entry(name: str, role: str) -> Entry[Scheme]:
    """The entry of scheme ``name``, refused unless it is layer-wise (usable on part of a model)."""
    entry = SCHEMES.get(name)
    if not entry.meta.get("layerwise"):
        allowed = ", ".join(e.name for e in SCHEMES if e.meta.get("layerwise"))
        raise ConfigError(f"{role}={name!r} must be a layer-wise scheme; allowed: {allowed}")
    return entry


def apply_init(
    model: nn.Module, scheme: str, generator: torch.Generator | None = None, **params: Any
) -> nn.Module:
    """Apply init ``scheme`` (a name in ``SCHEMES``) to ``model`` in place and return the model.

    ``generator`` (a CPU ``torch.Generator``) makes the init reproducible; every random draw is made
    on the CPU and copied to the parameter's device, so one seed gives one init on every device.
    ``params`` are the scheme's parameters, validated against its signature; a data-dependent scheme
    (LSUV) also takes ``data=batch``, a tensor of inputs. Bad params are refused before anything changes.
    """
    entry = SCHEMES.get(scheme)
    data = params.pop("data", None)
    kwargs = entry.validate(params)
    takes = entry.meta.get("data")
    if takes is None and data is not None:
        raise ConfigError(f"scheme {scheme!r} does not take data; only data-dependent schemes do (e.g. lsuv)")
    if takes == "required" and data is None:
        raise SchemeError(f"scheme {scheme!r} needs a batch of inputs: apply_init(model, {scheme!r}, data=x)")
    if takes is not None:
        kwargs["data"] = data
    with torch.no_grad():
        entry.fn(model, generator=generator or default_generator(), **kwargs)
    return model
