"""The residual family: start each residual branch at zero, so each block starts as the identity.

Each scheme reads the branches from the model (:func:`initlab.models.branches.residual_branches`:
branches marked with ``mark_branch``, ``Residual`` blocks, or torchvision-style BasicBlock/Bottleneck)
and refuses a model without them, saying what to mark.
Except for Fixup, whose formula fixes every layer, the weight layers are first initialised by a
layer-wise ``base`` scheme (default ``he-normal``; ``base_params`` are its params), then the scheme
sets the branch's zero. The model options each scheme needs are listed in ``initlab.models.resnet``.
SkipInit and ReZero add a scalar gain to every branch that has none (on a foreign block: a parameter
on the branch's output module, applied by a forward hook): apply them before creating the optimizer
(``initlab.train`` does).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from initlab.errors import SchemeError
from initlab.models.blocks import Residual, ScalarBias, ScalarMultiplier
from initlab.models.branches import Branch, require_branches, require_layer_marks
from initlab.models.roles import BATCH_NORM_TYPES, norm_layers, require_head
from initlab.models.weights import weights, zero_module
from initlab.schemes.registry import Paper, layerwise_entry, register_scheme
from initlab.schemes.rules import FanMode, he_std
from initlab.schemes.sampling import normal_

FIXUP = Paper(
    "Zhang, Dauphin & Ma",
    2019,
    "Fixup Initialization: Residual Learning Without Normalization",
    arxiv="1901.09321",
)


class BaseInit:
    """A layer-wise scheme and its params, validated before the residual scheme changes anything."""

    def __init__(self, base: str, base_params: dict[str, Any] | None):
        self.entry = layerwise_entry(base, "base")
        self.params = self.entry.validate(base_params or {})

    def __call__(self, model: nn.Module, generator: torch.Generator) -> None:
        self.entry.fn(model, generator=generator, **self.params)


@register_scheme("fixup", family="residual", paper=FIXUP)
def fixup(
    model: nn.Module, *, generator: torch.Generator, mode: FanMode = "fan_in", strict: bool = True
) -> nn.Module:
    """Fixup: zero classifier and branch ends, other branch layers He-normal × L^(−1/(2m−2)).

    With L residual branches (blocks) and m weight layers per branch:

    - the classifier's W and b are 0; the last weight layer of every branch is 0;
    - every other layer inside a branch: W ~ N(0, 2/fan) · L^(−1/(2m−2)), i.e. He-normal scaled by
      L^(−1/2) for basic blocks (m = 2), L^(−1/4) for bottlenecks (m = 3);
    - every other layer (stem, projection shortcuts): He-normal, W ~ N(0, 2/fan); all biases 0;
    - Fixup's scalar biases start at 0, its multipliers (and any branch gain) at 1.

    It refuses a model with normalization layers, and (``strict``) a model without Fixup's structure:
    build ``build_model("resnet-cifar", norm="none", fixup=True)``. ``strict=False`` applies the
    weight rule to any normalization-free residual model.

    Paper vs reference (hongyi-zhang/Fixup, ``cifar/models/fixup_resnet_cifar.py``): the reference
    draws the He std from fan_out (``mode="fan_out"`` reproduces it; the paper says "standard
    method (e.g. He)", i.e. fan_in); its CIFAR model leaves the stem conv at PyTorch's default
    (here: He-normal, per the paper); its ImageNet model inits projection shortcuts He-normal
    (fan_out). Its issues report that the scalars train better with a 10× lower learning rate.
    """
    branches = require_branches(model, "fixup")
    norms = norm_layers(model)
    if norms:
        raise SchemeError(
            f"fixup replaces normalization and refuses a model with normalization layers: found "
            f"{len(norms)}, the first at {norms[0]!r}; remove them (initlab's resnet: norm='none', "
            "fixup=True)"
        )
    head = require_head(model, "fixup")
    if strict:
        _require_fixup_structure(branches)
    count = len(branches)
    branch_of = {id(layer): branch for branch in branches for layer in branch.layers}
    for weight in weights(model):
        branch = branch_of.get(id(weight.module))
        if weight.module is head or (branch is not None and weight.module is branch.last):
            zero_module(weight.module)
            continue
        std = he_std(weight.tensor, mode)
        if branch is not None:
            std *= count ** (-1.0 / (2 * len(branch.layers) - 2))
        normal_(weight.tensor, 0.0, std, generator)
        if weight.bias is not None:
            weight.bias.zero_()
    for module in model.modules():
        if isinstance(module, ScalarBias):
            module.bias.zero_()
        elif isinstance(module, ScalarMultiplier):
            module.scale.fill_(1.0)
        elif isinstance(module, Residual) and module.gain is not None:
            module.gain.fill_(1.0)
    return model


def _require_fixup_structure(branches: list[Branch]) -> None:
    for branch in branches:
        inside = branch.residual.branch if branch.residual is not None else branch.block
        has_scalars = {type(m) for m in inside.modules()} >= {ScalarBias, ScalarMultiplier}
        if not has_scalars:
            raise SchemeError(
                f"fixup needs Fixup's structure (scalar biases before each conv, activation and linear "
                f"layer, and a scalar multiplier per branch); branch {branch.name!r} has none. Add "
                "initlab.models.ScalarBias/ScalarMultiplier (initlab's resnet: norm='none', fixup=True), "
                "or pass strict=False to apply only the weight rule"
            )


@register_scheme(
    "skipinit",
    family="residual",
    paper=Paper(
        "De & Smith",
        2020,
        "Batch Normalization Biases Residual Blocks Towards the Identity Function in Deep Networks",
        arxiv="2002.10444",
    ),
)
def skipinit(
    model: nn.Module,
    *,
    generator: torch.Generator,
    base: str = "he-normal",
    base_params: dict[str, Any] | None = None,
    norm: Literal["refuse", "remove"] = "refuse",
    zero_head: bool = False,
) -> nn.Module:
    """SkipInit: a learnable scalar gain g at the end of each residual branch, g = 0 at init.

    Each block computes ``x + g·f(x)`` with g = 0: the identity. Other layers: the ``base`` scheme.
    SkipInit replaces BatchNorm: a model with BatchNorm is refused, or (``norm="remove"``) every
    BatchNorm is replaced by ``nn.Identity``. The gain is added to every branch that has none: a
    ``Residual``'s own, or on a foreign or marked block a parameter on the branch's output module
    applied by a forward hook.

    Paper vs reference (deepmind-research ``nfnets/skipinit_resnet.py``): the reference also starts
    its classifier at zero (``fc_init=jnp.zeros``), which the paper does not prescribe; ``zero_head``
    reproduces it. Its convs use Haiku's default, a truncated LeCun normal.
    """
    init = BaseInit(base, base_params)
    branches = require_branches(model, "skipinit")
    head = require_head(model, "skipinit") if zero_head else None
    batch_norms = norm_layers(model, BATCH_NORM_TYPES)
    if batch_norms and norm == "refuse":
        raise SchemeError(
            f"skipinit replaces BatchNorm and refuses a model with it: found {len(batch_norms)}, the first "
            f"at {batch_norms[0]!r}; remove them (initlab's models: norm='none'), or pass norm='remove'"
        )
    _remove_batch_norm(model)
    init(model, generator)
    for branch in require_branches(model, "skipinit") if batch_norms else branches:  # outputs may be gone
        branch.ensure_gain().zero_()
    if head is not None:
        zero_module(head)
    return model


def _remove_batch_norm(model: nn.Module) -> None:
    found = [
        (parent, name)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, BATCH_NORM_TYPES)
    ]
    for parent, name in found:
        setattr(parent, name, nn.Identity())


@register_scheme(
    "rezero",
    family="residual",
    keyless_defaults=("share",),
    paper=Paper(
        "Bachlechner, Majumder, Mao, Cottrell & McAuley",
        2020,
        "ReZero is All You Need: Fast Convergence at Large Depth",
        arxiv="2003.04887",
    ),
)
def rezero(
    model: nn.Module,
    *,
    generator: torch.Generator,
    base: str = "he-normal",
    base_params: dict[str, Any] | None = None,
    share: Literal["branch", "layer"] = "branch",
) -> nn.Module:
    """ReZero: x_{i+1} = x_i + α_i·F(x_i) with one learnable α per residual branch, α = 0 at init.

    Other layers: the ``base`` scheme. α is the ``Residual``'s gain, added where missing (on a foreign
    or marked block: a parameter on the branch's output, applied by a forward hook). ReZero drops
    normalization in transformers: build ``transformer`` with ``norm="none"`` (with post-LN the block
    is ``LN(x + α·F(x))``, not the identity).

    Paper vs reference (majumderb/rezero ``rztx.py``): the reference's ``RZTXEncoderLayer`` has one
    ``resweight`` used by both its attention and its feed-forward sublayer,
    x ← x + α·Attn(x); x ← x + α·FFN(x); the paper's equation gives each branch its own α
    (``share="branch"``, the default). ``share="layer"`` reproduces the reference: the branches of one
    transformer layer (same ``layer`` and ``stack`` marks) get one parameter, so the model has one α per
    layer. The reference leaves PyTorch's default init elsewhere (``base="pytorch-default"``).
    """
    init = BaseInit(base, base_params)
    branches = (
        require_layer_marks(model, "rezero")[1] if share == "layer" else require_branches(model, "rezero")
    )
    init(model, generator)
    shared: dict[tuple[str | None, int | None], nn.Parameter] = {}
    for branch in branches:
        place = (branch.stack, branch.layer)
        if share == "layer" and place in shared:
            branch.share_gain(shared[place])
        else:
            shared[place] = branch.ensure_gain()
            shared[place].zero_()
    return model


@register_scheme(
    "zero-last-norm",
    family="residual",
    paper=Paper(
        "Goyal et al.", 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", arxiv="1706.02677"
    ),
)
def zero_last_norm(
    model: nn.Module,
    *,
    generator: torch.Generator,
    base: str = "he-normal",
    base_params: dict[str, Any] | None = None,
) -> nn.Module:
    """Zero-γ: γ = 0 (and β = 0) on the norm layer after the last layer of each residual branch.

    The branch then outputs 0 and each block starts as the identity (Goyal et al. 2017; torchvision's
    ``zero_init_residual``, timm's ``zero_init_last``). Other layers: the ``base`` scheme (torchvision
    uses He-normal with fan_out). A branch without a norm after its last layer is refused.
    """
    init = BaseInit(base, base_params)
    branches = require_branches(model, "zero-last-norm")
    for branch in branches:
        if branch.norm_after_last is None:
            raise SchemeError(
                f"zero-last-norm needs a normalization layer after the last layer of each residual branch; "
                f"branch {branch.name!r} has none: mark it with mark_branch(module, norm=...) (initlab's "
                "models: norm='batch')"
            )
    init(model, generator)
    for branch in branches:
        branch.norm_after_last.weight.zero_()
        branch.norm_after_last.bias.zero_()
    return model


@register_scheme(
    "zero-last-layer",
    family="residual",
    paper=Paper(
        "Nichol & Dhariwal", 2021, "Improved Denoising Diffusion Probabilistic Models", arxiv="2102.09672"
    ),
)
def zero_last_layer(
    model: nn.Module,
    *,
    generator: torch.Generator,
    base: str = "he-normal",
    base_params: dict[str, Any] | None = None,
) -> nn.Module:
    """W = 0 and b = 0 on the last weight layer of each residual branch; the ``base`` scheme elsewhere.

    improved-diffusion's ``zero_module`` applied to each branch's last conv (its ResBlocks' last conv,
    attention output projections and the U-Net's output conv). Each path from input to loss crosses at
    most one zero layer, so every layer receives a gradient after at most one step.
    """
    init = BaseInit(base, base_params)
    branches = require_branches(model, "zero-last-layer")
    init(model, generator)
    for branch in branches:
        zero_module(branch.last)
    return model
