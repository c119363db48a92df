"""Layer roles that init schemes read: the head, the transformer parts, and the residual branches.

A role is a plain attribute on the module (``module.initlab_role``), so it survives ``copy.deepcopy``,
``state_dict`` round trips and ``torch.func.stack_module_state``, and costs nothing at run time.

Residual structure is read from :class:`~initlab.models.blocks.Residual` blocks, and, in foreign
models, from torchvision/timm-style blocks (a module with ``conv1``, ``conv2`` [, ``conv3``] and a
``downsample`` or ``shortcut`` attribute: BasicBlock with ``conv2``/``bn2``, Bottleneck with
``conv3``/``bn3``). :func:`require_branches` and :func:`require_head` refuse a model that lacks them
with an error naming what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from torch import nn

from initlab.errors import SchemeError
from initlab.models.blocks import Residual

ROLE_ATTR = "initlab_role"
HEAD = "head"
EMBEDDING = "embedding"
"""The input embedding: an ``nn.Embedding`` of tokens, or the Linear that embeds image rows."""
POSITION = "position"
QUERY, KEY, VALUE, ATTN_OUT = "query", "key", "value", "attn-out"
FFN_IN, FFN_OUT = "ffn-in", "ffn-out"

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


@dataclass(frozen=True)
class Branch:
    """One residual branch, as schemes see it.

    ``layers`` are the branch's weight layers in forward order (m = ``len(layers)``); ``last`` is the
    branch's last weight layer; ``norm_after_last`` is the first normalization layer after it inside
    the branch (a BasicBlock's ``bn2``), or None. ``residual`` is the :class:`Residual` block, or None
    for a foreign block (which cannot carry a branch gain).
    """

    name: str
    block: nn.Module
    layers: tuple[nn.Module, ...]
    norm_after_last: nn.Module | None

    @property
    def last(self) -> nn.Module:
        return self.layers[-1]

    @property
    def residual(self) -> Residual | None:
        return self.block if isinstance(self.block, Residual) else None


def _is_foreign_block(module: nn.Module) -> bool:
    """A torchvision/timm/kuangliu-style residual block: conv1, conv2 and a downsample/shortcut slot."""
    if isinstance(module, nn.Sequential | nn.ModuleList | nn.ModuleDict | Residual):
        return False
    convs = [getattr(module, name, None) for name in ("conv1", "conv2")]
    has_slot = hasattr(module, "downsample") or hasattr(module, "shortcut")
    return has_slot and all(isinstance(c, WEIGHT_LAYER_TYPES) for c in convs)


def _norm_after(container: nn.Module, last: nn.Module) -> nn.Module | None:
    seen_last = False
    for module in container.modules():
        if module is last:
            seen_last = True
        elif seen_last and isinstance(module, NORM_LAYER_TYPES):
            return module
    return None


def residual_branches(model: nn.Module) -> list[Branch]:
    """Every residual branch of ``model``, in registration order (L = the length of the list)."""
    branches = []
    for name, module in model.named_modules():
        if isinstance(module, Residual):
            layers = tuple(m for _, m in weight_layers(module.branch))
            if layers:
                branches.append(Branch(name, module, layers, _norm_after(module.branch, layers[-1])))
        elif _is_foreign_block(module):
            conv3 = getattr(module, "conv3", None)
            if isinstance(conv3, WEIGHT_LAYER_TYPES):
                layers, norm = (module.conv1, module.conv2, conv3), getattr(module, "bn3", None)
            else:
                layers, norm = (module.conv1, module.conv2), getattr(module, "bn2", None)
            norm = norm if isinstance(norm, NORM_LAYER_TYPES) else None
            branches.append(Branch(name, module, layers, norm))
    return branches


def require_branches(model: nn.Module, scheme: str) -> list[Branch]:
    """:func:`residual_branches`, or a SchemeError saying that the scheme needs them."""
    branches = residual_branches(model)
    if not branches:
        raise SchemeError(
            f"scheme {scheme!r} needs residual branches, and {type(model).__name__} has none that initlab "
            "can find: wrap each branch in initlab.models.Residual(branch, shortcut), or use blocks with "
            "conv1/conv2 (+ bn2) or conv1/conv2/conv3 (+ bn3) and a downsample or shortcut attribute"
        )
    return branches


def require_residuals(model: nn.Module, scheme: str, what: str) -> list[Residual]:
    """The :class:`Residual` block of every branch; refuse foreign blocks (they cannot hold ``what``)."""
    blocks = []
    for branch in require_branches(model, scheme):
        if branch.residual is None:
            raise SchemeError(
                f"scheme {scheme!r} needs {what} on each residual branch; block {branch.name!r} "
                f"({type(branch.block).__name__}) is not an initlab.models.Residual and cannot hold one"
            )
        blocks.append(branch.residual)
    return blocks


@contextmanager
def branches_removed(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every :class:`Residual` computes ``post(α·shortcut(x))``: its branch is skipped.

    The network "with the branches removed", against which an identity-at-init scheme can be checked.
    """
    blocks = [m for m in model.modules() if isinstance(m, Residual)]
    if not blocks:
        raise SchemeError(f"{type(model).__name__} has no initlab.models.Residual blocks to remove")
    for block in blocks:
        block.branch_removed = True
    try:
        yield model
    finally:
        for block in blocks:
            block.branch_removed = False


def stack_depths(model: nn.Module, scheme: str) -> dict[str, int]:
    """``{stack: number of layers}`` from the ``layer``/``stack`` marks of the model's Residual blocks.

    A transformer's encoder-only model gives ``{"encoder": N}``, a decoder-only one ``{"decoder": M}``.
    Refuses a model whose residual blocks do not all carry both marks.
    """
    blocks = require_residuals(model, scheme, "a layer index and a stack mark")
    depths: dict[str, set[int]] = {}
    for block in blocks:
        if block.layer is None or block.stack is None:
            raise SchemeError(
                f"scheme {scheme!r} needs each residual block marked with its transformer layer and stack "
                "(Residual(..., layer=i, stack='encoder'|'decoder')); a block has none "
                "(build_model('transformer', ...) marks them)"
            )
        depths.setdefault(block.stack, set()).add(block.layer)
    return {stack: len(layers) for stack, layers in depths.items()}
