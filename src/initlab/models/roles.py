"""Layer roles that init schemes read: the classifier *head*, and the weight layers in forward order.

A role is a plain attribute on the module (``module.initlab_role``), so it survives ``copy.deepcopy``,
``state_dict`` round trips and ``torch.func.stack_module_state``, and costs nothing at run time.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn

ROLE_ATTR = "initlab_role"
HEAD = "head"

#: Modules whose ``weight`` is a learned linear map (the layers that weight-init schemes act on).
WEIGHT_LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def set_role(module: nn.Module, role: str) -> nn.Module:
    """Mark ``module`` with ``role`` and return it."""
    setattr(module, ROLE_ATTR, role)
    return module


def role_of(module: nn.Module) -> str | None:
    return getattr(module, ROLE_ATTR, None)


def mark_head(module: nn.Module) -> nn.Module:
    """Mark ``module`` as the classifier head (the layer that produces the logits)."""
    return set_role(module, HEAD)


def find_head(model: nn.Module) -> nn.Module | None:
    """The module marked as head, or None."""
    return next((m for m in model.modules() if role_of(m) == HEAD), None)


def weight_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every Linear and Conv layer, in registration (forward) order."""
    for name, module in model.named_modules():
        if isinstance(module, WEIGHT_LAYER_TYPES):
            yield name, module
