"""Layer roles that init schemes read: the head and the transformer parts.

A role is a plain attribute on the module (``module.initlab_role``), so it survives ``copy.deepcopy``,
``state_dict`` round trips and ``torch.func.stack_module_state``, and costs nothing at run time.
initlab's models set roles as they build; a foreign model gets them by module name with
:func:`mark_roles` (timm's ``named_apply`` idea). Residual branches are in
:mod:`initlab.models.branches`. :func:`require_head` refuses a model without a head, naming what to mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from torch import nn

from initlab.errors import SchemeError

ROLE_ATTR = "initlab_role"
HEAD = "head"
EMBEDDING = "embedding"
"""The input embedding: an ``nn.Embedding`` of tokens, or the Linear that embeds image rows."""
POSITION = "position"
QUERY, KEY, VALUE, ATTN_OUT = "query", "key", "value", "attn-out"
FFN_IN, FFN_OUT = "ffn-in", "ffn-out"
QKV = "qkv"
"""A fused query/key/value projection (GPT-2's ``c_attn``): its output rows are W_q, W_k, W_v."""
ROLES = (HEAD, EMBEDDING, POSITION, QUERY, KEY, VALUE, QKV, ATTN_OUT, FFN_IN, FFN_OUT)

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

#: Normalization layers (what Fixup, T-Fixup and SkipInit do without).
NORM_LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.RMSNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)
BATCH_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
)


def set_role(module: nn.Module, role: str) -> nn.Module:
    """Mark ``module`` with ``role`` (one of ``ROLES``) and return it."""
    if role not in ROLES:
        raise SchemeError(f"unknown role {role!r}; allowed: {', '.join(ROLES)}")
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


def require_head(model: nn.Module, scheme: str) -> nn.Module:
    """The marked head, else (foreign models) the last weight layer when it is a Linear; else refuse."""
    head = find_head(model)
    if head is None:
        layers = [m for _, m in weight_layers(model)]
        if layers and isinstance(layers[-1], nn.Linear):
            head = layers[-1]
    if head is None:
        raise SchemeError(
            f"scheme {scheme!r} needs the classifier head: {type(model).__name__} has no module marked as "
            "head and its last weight layer is not a Linear; mark it with initlab.models.mark_head(layer)"
        )
    return head


def modules_with_role(model: nn.Module, *roles: str) -> list[nn.Module]:
    """The modules marked with any of ``roles``, in registration order."""
    return [m for m in model.modules() if role_of(m) in roles]


def weight_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every Linear and Conv layer, in registration (forward) order."""
    for name, module in model.named_modules():
        if isinstance(module, WEIGHT_LAYER_TYPES):
            yield name, module


def norm_layers(model: nn.Module, types: tuple[type[nn.Module], ...] = NORM_LAYER_TYPES) -> list[str]:
    """Qualified names of the normalization layers of ``model`` (of ``types``)."""
    return [name for name, m in model.named_modules() if isinstance(m, types)]


def name_pattern(pattern: str) -> re.Pattern[str]:
    """A module-name pattern: ``*`` stands for one name component (``transformer.h.*.attn``)."""
    return re.compile("[^.]+".join(re.escape(part) for part in pattern.split("*")))


def matching_modules(model: nn.Module, pattern: str, what: str) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every module whose qualified name matches ``pattern``; refuse none."""
    regex = name_pattern(pattern)
    found = [(name, m) for name, m in model.named_modules() if name and regex.fullmatch(name)]
    if not found:
        names = [name for name, _ in model.named_modules() if name][:6]
        raise SchemeError(
            f"{what}: no module of {type(model).__name__} is named like {pattern!r} ('*' is one name "
            f"component); its module names start {', '.join(names)}"
        )
    return found


def mark_roles(model: nn.Module, roles: Mapping[str, str]) -> list[str]:
    """Set roles by module name: ``{pattern: role}``, e.g. ``{"transformer.h.*.attn.c_attn": "qkv"}``.

    Returns the names marked; a pattern that matches nothing is refused with the model's names.
    """
    marked = []
    for pattern, role in roles.items():
        for name, module in matching_modules(model, pattern, "mark_roles"):
            set_role(module, role)
            marked.append(name)
    return marked
