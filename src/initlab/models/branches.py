"""Residual branches as schemes see them, and the marking API that tells initlab where they are.

Branches are read, in this order of precedence, from:

1. **marks** (:func:`mark_branch`, or :func:`mark_branches` by module name): a foreign model says
   where each branch is, its layers, its last layer, the norm after that layer, the norm after the
   residual sum (post-LN) and its transformer layer index and stack, without being rewritten;
2. :class:`~initlab.models.blocks.Residual` blocks (initlab's own models);
3. when the model has no marks, torchvision/timm-style blocks (a module with ``conv1``, ``conv2``
   [, ``conv3``] and a ``downsample`` or ``shortcut`` attribute: BasicBlock with ``conv2``/``bn2``,
   Bottleneck with ``conv3``/``bn3``).

A branch gain (SkipInit, ReZero) lives on the ``Residual`` block; on a foreign branch it is a
parameter registered on the branch's output module and applied by a forward hook
(:func:`~initlab.models.blocks.attach_gain`), so blocks whose forward takes extra arguments
(timestep embeddings, attention masks) keep working. :func:`require_branches` refuses a model
without branches with an error that says what to mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from torch import nn

from initlab.errors import SchemeError
from initlab.models.blocks import Residual, attach_gain, attach_output_scale
from initlab.models.roles import NORM_LAYER_TYPES, WEIGHT_LAYER_TYPES, matching_modules
from initlab.models.weights import weight_modules

MARK_ATTR = "initlab_branch"
BASE_EPS_ATTR = "initlab_base_eps"
MARK_HINT = (
    "mark each branch with initlab.models.mark_branch(module, last=..., norm=..., post=..., layer=i, "
    "stack=...) or mark_branches(model, 'name.*.pattern', ...), or wrap it in initlab.models.Residual"
)


@dataclass(frozen=True)
class BranchMark:
    """Where a marked branch's parts are (see :func:`mark_branch`); kept on the marked module."""

    layers: tuple[nn.Module, ...]
    output: nn.Module
    norm: nn.Module | None
    post: nn.Module | None
    layer: int | None
    stack: str | None


@dataclass(frozen=True)
class Branch:
    """One residual branch, as schemes see it.

    ``layers`` are the branch's weight layers in forward order (m = ``len(layers)``); ``last`` is the
    branch's last weight layer; ``norm_after_last`` the normalization layer after it inside the branch
    (a BasicBlock's ``bn2``), or None; ``post`` the normalization after the residual sum (post-LN), or
    None; ``output`` the module whose output is the branch's (where a foreign branch's gain goes);
    ``layer`` (1-based) and ``stack`` its place in a transformer. ``residual`` is the
    :class:`Residual` block, or None for a foreign or marked block.
    """

    name: str
    block: nn.Module
    layers: tuple[nn.Module, ...]
    norm_after_last: nn.Module | None
    output: nn.Module
    post: nn.Module | None = None
    layer: int | None = None
    stack: str | None = None

    @property
    def last(self) -> nn.Module:
        return self.layers[-1]

    @property
    def residual(self) -> Residual | None:
        return self.block if isinstance(self.block, Residual) else None

    def ensure_gain(self) -> nn.Parameter:
        """The branch's scalar gain g (x + g·F(x)), created as 1 where it has none."""
        if self.residual is not None:
            return self.residual.ensure_gain()
        return attach_gain(self.output)

    def share_gain(self, gain: nn.Parameter) -> None:
        """Make ``gain`` (another branch's) this branch's gain too: one parameter scales both."""
        if self.residual is not None:
            self.residual.gain = gain
        else:
            attach_gain(self.output, shared=gain)

    def scale_skip(self, alpha: float) -> None:
        """Make the block compute post(α·x + F(x)) (DeepNorm's residual scale).

        A ``Residual`` sets its ``skip_scale``. A foreign post-LN block cannot reach its shortcut, and
        uses LayerNorm's scale invariance instead: LN_ε(α·x + F) = LN_{ε/α²}(x + F/α), so its branch
        output is scaled by 1/α (a buffer, through a forward hook) and its post-LN's ε divided by α²,
        which is the same function exactly.
        """
        if self.residual is not None:
            self.residual.skip_scale = alpha
            return
        if not isinstance(self.post, nn.LayerNorm):
            raise SchemeError(
                f"branch {self.name!r} has no LayerNorm after its residual sum to carry α: mark it with "
                "mark_branch(..., post=layer_norm)"
            )
        attach_output_scale(self.output, 1.0 / alpha)
        base_eps = getattr(self.post, BASE_EPS_ATTR, self.post.eps)  # applied twice, still ε/α²
        setattr(self.post, BASE_EPS_ATTR, base_eps)
        self.post.eps = base_eps / alpha**2


def _resolve(root: nn.Module, ref: nn.Module | str | None, what: str) -> nn.Module | None:
    if ref is None or isinstance(ref, nn.Module):
        return ref
    try:
        return root.get_submodule(ref)
    except AttributeError:
        raise SchemeError(
            f"mark_branch: {type(root).__name__} has no submodule {ref!r} for {what}; give a module or "
            "a name relative to the marked module"
        ) from None


def _inside(module: nn.Module, root: nn.Module) -> bool:
    return any(m is module for m in root.modules())


def norm_after(container: nn.Module, last: nn.Module) -> nn.Module | None:
    """The first normalization layer registered after ``last`` inside ``container``."""
    seen_last = False
    for module in container.modules():
        if module is last:
            seen_last = True
        elif seen_last and isinstance(module, NORM_LAYER_TYPES):
            return module
    return None


def mark_branch(
    module: nn.Module,
    *,
    layers: list[nn.Module | str] | None = None,
    last: nn.Module | str | None = None,
    output: nn.Module | str | None = None,
    norm: nn.Module | str | None = None,
    post: nn.Module | str | None = None,
    skip: nn.Module | str | None = None,
    layer: int | None = None,
    stack: str | None = None,
) -> nn.Module:
    """Mark ``module`` as holding one residual branch, x → post(x + F(x)); returns ``module``.

    Submodules are given as modules or as names relative to ``module``:

    - ``layers``: the branch's weight layers, in forward order (default: every weight layer inside
      ``module`` except those inside ``skip``, a projection shortcut);
    - ``last``: the branch's last weight layer (default: the last of ``layers``; put last when given);
    - ``norm``: the norm after ``last`` inside the branch, which zero-γ zeroes (default: none);
    - ``output``: the module whose output is F(x), where SkipInit's or ReZero's gain is applied
      (default: ``norm`` if given, else ``last``: only a linear op such as dropout may follow it
      before the sum; for an ``nn.MultiheadAttention``, the attention). Not a container that the
      block's forward may bypass: improved-diffusion's scale-shift ResBlock calls ``out_layers[0]``
      and ``out_layers[1:]``, never ``out_layers``;
    - ``post``: the norm applied to the residual sum (post-LN; DeepNorm needs it);
    - ``layer`` (1-based) and ``stack`` ("encoder" | "decoder"): the transformer layer holding the
      branch, for depth-scaled schemes.
    """
    skip_module = _resolve(module, skip, "skip")
    if layers is None:
        resolved = [
            m for _, m in weight_modules(module) if skip_module is None or not _inside(m, skip_module)
        ]
    else:
        resolved = [_resolve(module, ref, "layers") for ref in layers]
    last_module = _resolve(module, last, "last") or (resolved[-1] if resolved else None)
    if last_module is None:
        raise SchemeError(
            f"mark_branch: {type(module).__name__} has no weight layer; pass layers=[...] naming the "
            "branch's Linear/Conv layers"
        )
    resolved = [m for m in resolved if m is not last_module] + [last_module]  # ``last`` ends the branch
    post_module = _resolve(module, post, "post")
    norm_module = _resolve(module, norm, "norm")
    mark = BranchMark(
        layers=tuple(resolved),
        output=_resolve(module, output, "output") or norm_module or _default_output(module, last_module),
        norm=norm_module,
        post=post_module,
        layer=layer,
        stack=stack,
    )
    setattr(module, MARK_ATTR, mark)
    return module


def _default_output(module: nn.Module, last: nn.Module) -> nn.Module:
    """``last``, except in nn.MultiheadAttention, whose forward reads ``out_proj.weight`` and never
    calls ``out_proj``: there the attention itself (its output's first element is F(x))."""
    return module if isinstance(module, nn.MultiheadAttention) else last


def layer_index(name: str) -> int | None:
    """1 + the first numeric component of a module name (``encoder.layer.3.attention`` → 4)."""
    match = re.search(r"(?:^|\.)(\d+)(?:\.|$)", name)
    return None if match is None else int(match.group(1)) + 1


def mark_branches(model: nn.Module, pattern: str, **parts: object) -> list[str]:
    """:func:`mark_branch` on every module whose name matches ``pattern`` (``*``: one name component).

    ``parts`` are :func:`mark_branch`'s keywords, names relative to each matched module. Without
    ``layer=``, the layer index is 1 + the first number in the module's name (``transformer.h.0.attn``
    → 1). Returns the names marked; a pattern that matches nothing is refused.
    """
    marked = []
    for name, module in matching_modules(model, pattern, "mark_branches"):
        layer = parts.get("layer", layer_index(name))
        mark_branch(module, **{**parts, "layer": layer})  # type: ignore[arg-type]
        marked.append(name)
    return marked


def _is_foreign_block(module: nn.Module) -> bool:
    """A torchvision/timm/kuangliu-style residual block: conv1, conv2 and a downsample/shortcut slot."""
    if isinstance(module, nn.Sequential | nn.ModuleList | nn.ModuleDict | Residual):
        return False
    convs = [getattr(module, name, None) for name in ("conv1", "conv2")]
    has_slot = hasattr(module, "downsample") or hasattr(module, "shortcut")
    return has_slot and all(isinstance(c, WEIGHT_LAYER_TYPES) for c in convs)


def _foreign_branch(name: str, module: nn.Module) -> Branch:
    conv3 = getattr(module, "conv3", None)
    if isinstance(conv3, WEIGHT_LAYER_TYPES):
        layers, norm = (module.conv1, module.conv2, conv3), getattr(module, "bn3", None)
    else:
        layers, norm = (module.conv1, module.conv2), getattr(module, "bn2", None)
    norm = norm if isinstance(norm, NORM_LAYER_TYPES) else None
    return Branch(name, module, layers, norm, output=norm if norm is not None else layers[-1])


def _residual_branch(name: str, block: Residual) -> Branch | None:
    layers = tuple(m for _, m in weight_modules(block.branch))
    if not layers:
        return None
    post = block.post if isinstance(block.post, NORM_LAYER_TYPES) else None
    norm = norm_after(block.branch, layers[-1])
    return Branch(name, block, layers, norm, block.branch, post, block.layer, block.stack)


def residual_branches(model: nn.Module) -> list[Branch]:
    """Every residual branch of ``model``, in registration order (L = the length of the list)."""
    marked = any(hasattr(m, MARK_ATTR) for m in model.modules())
    branches = []
    for name, module in model.named_modules():
        mark: BranchMark | None = getattr(module, MARK_ATTR, None)
        if mark is not None:
            branches.append(
                Branch(name, module, mark.layers, mark.norm, mark.output, mark.post, mark.layer, mark.stack)
            )
        elif isinstance(module, Residual):
            branch = _residual_branch(name, module)
            if branch is not None:
                branches.append(branch)
        elif not marked and _is_foreign_block(module):
            branches.append(_foreign_branch(name, module))
    return branches


def require_branches(model: nn.Module, scheme: str) -> list[Branch]:
    """:func:`residual_branches`, or a SchemeError saying that the scheme needs them and how to mark them."""
    branches = residual_branches(model)
    if not branches:
        raise SchemeError(
            f"scheme {scheme!r} needs residual branches, and {type(model).__name__} has none that initlab "
            f"can find: {MARK_HINT}"
        )
    return branches


def require_layer_marks(model: nn.Module, scheme: str) -> tuple[dict[str, int], list[Branch]]:
    """``({stack: number of layers}, branches)``: every branch must carry its layer index and stack.

    A transformer's encoder-only model gives ``{"encoder": N}``, a decoder-only one ``{"decoder": M}``.
    """
    branches = require_branches(model, scheme)
    depths: dict[str, set[int]] = {}
    for branch in branches:
        if branch.layer is None or branch.stack is None:
            raise SchemeError(
                f"scheme {scheme!r} needs the transformer layer and stack of each residual branch; "
                f"branch {branch.name!r} ({type(branch.block).__name__}) has none: mark it with "
                "mark_branch(module, layer=i, stack='encoder'|'decoder') or mark_branches(model, pattern, "
                "stack=...) (initlab's transformer marks its own)"
            )
        depths.setdefault(branch.stack, set()).add(branch.layer)
    return {stack: len(layers) for stack, layers in depths.items()}, branches


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
