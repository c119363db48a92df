"""Composition: one scheme for the body, then per-role overrides (``head="zeros"``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from initlab.errors import ConfigError, SchemeError
from initlab.models.branches import require_branches
from initlab.models.roles import require_head
from initlab.schemes.registry import SCHEMES, layerwise_entry, register_scheme


@register_scheme("compose", family="composition", paper=None, data="optional")
def compose(
    model: nn.Module,
    *,
    generator: torch.Generator,
    data: torch.Tensor | None = None,
    body: str = "pytorch-default",
    body_params: dict[str, Any] | None = None,
    head: str | None = None,
    head_params: dict[str, Any] | None = None,
    last: str | None = None,
    last_params: dict[str, Any] | None = None,
) -> nn.Module:
    """``body`` on the whole model, then ``head`` on the classifier and ``last`` on each branch's last layer.

    E.g. ``apply_init(model, "compose", body="he-normal", head="zeros")`` (timm's ViT/JAX style: a
    zero classifier on a He-initialised body), or ``body="fixup", head="xavier-uniform"``. ``body`` may
    be any scheme (``data`` goes to it when it takes data); the overrides must be layer-wise schemes.
    ``*_params`` are each scheme's params. Every name and param is validated before anything changes.
    """
    if body == "compose":
        raise ConfigError("body='compose' is not allowed: compose does not nest")
    body_entry = SCHEMES.get(body)
    body_kwargs = body_entry.validate(body_params or {})
    takes = body_entry.meta.get("data")
    if takes == "required" and data is None:
        raise SchemeError(f"body={body!r} needs a batch of inputs: apply_init(model, 'compose', ..., data=x)")
    if takes is not None:
        body_kwargs["data"] = data
    overrides = []
    for role, name, params in (("head", head, head_params), ("last", last, last_params)):
        if name is None:
            continue
        entry = layerwise_entry(name, role)
        modules = (
            [require_head(model, "compose")]
            if role == "head"
            else [b.last for b in require_branches(model, "compose")]
        )
        overrides.append((entry, entry.validate(params or {}), modules))
    body_entry.fn(model, generator=generator, **body_kwargs)
    for entry, kwargs, modules in overrides:
        for module in modules:
            entry.fn(module, generator=generator, **kwargs)
    return model
