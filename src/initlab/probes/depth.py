"""The parameters of a model grouped by depth: one group per residual branch, one per other module.

The depth instruments (``grad-profile``, ``output-change`` per layer) read a model as a stack: each
residual branch found by :func:`initlab.models.branches.residual_branches` (initlab's ``Residual``
blocks, marked branches of foreign models, torchvision-style blocks) is one group holding every
parameter of its block (the branch's layers, its norms, a post-LN, a branch gain), labelled with the
block's name and, in a transformer, its 1-based ``layer`` index; every other module that holds
parameters of its own (an embedding, a head, a final LayerNorm, an MLP's Linear layers, a conv net's
convs and BatchNorms) is a group of those parameters. Groups come in registration (forward) order; a
parameter shared by two modules (tied embeddings) counts once, in its first group.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from initlab.models.branches import residual_branches


@dataclass(frozen=True)
class LayerGroup:
    """A block's or a module's parameters: ``name`` (the module's qualified name), its parameters
    ``(name, tensor)`` and, for a transformer's branch, its 1-based layer index."""

    name: str
    params: tuple[tuple[str, nn.Parameter], ...]
    layer: int | None = None

    @property
    def numel(self) -> int:
        return sum(p.numel() for _, p in self.params)


def layer_groups(model: nn.Module) -> list[LayerGroup]:
    """The parameter groups of ``model`` in forward order (see the module docstring); only parameters
    that require gradients, and no group without any."""
    blocks = {id(b.block): b for b in residual_branches(model)}
    groups: list[LayerGroup] = []
    seen: set[int] = set()
    inside: str | None = None

    def take(named: list[tuple[str, nn.Parameter]], prefix: str) -> tuple[tuple[str, nn.Parameter], ...]:
        fresh = []
        for name, p in named:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                fresh.append((f"{prefix}.{name}" if prefix else name, p))
        return tuple(fresh)

    for name, module in model.named_modules():
        if inside is not None and name.startswith(inside):
            continue
        inside = None
        branch = blocks.get(id(module))
        if branch is not None:
            params = take(list(module.named_parameters()), name)
            inside = f"{name}." if name else ""
            if params:
                groups.append(LayerGroup(name, params, branch.layer))
            continue
        params = take(list(module.named_parameters(recurse=False)), name)
        if params:
            groups.append(LayerGroup(name or "model", params))
    return groups
