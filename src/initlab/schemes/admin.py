"""Admin (Liu, Liu, Gao, Chen & Han 2020): post-LN with a depth-dependent weight ω on the shortcut.

Each post-LN sublayer computes x_i = LN(ω_i·x_{i−1} + F_i(x_{i−1})). The paper shows that a post-LN
transformer's output change E‖F(x, W) − F(x, W + δ)‖² grows as O(N) with the number N of residual
sublayers, and that ω controls it: ω = 1 gives O(N) (plain post-LN), ω² = (N+1)/ln(N+1) − 1 gives
O(log N), ω² = N gives O(1) (admin-torch's ``calculate_init``). The profiled variant (the paper's
Algorithm 1) sets ω_i from the variances of the branch outputs measured in one forward pass.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from initlab.errors import SchemeError
from initlab.models.blocks import Residual
from initlab.models.branches import Branch, require_layer_marks
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.residual import BaseInit

Omega = Literal["n", "log", "1", "profile"]


def admin_omega(sublayers: int, omega: Literal["n", "log", "1"]) -> float:
    """ω for N = ``sublayers`` residual sublayers (admin-torch ``calculate_init``).

    ``"n"``: output change O(N), ω = 1; ``"log"``: O(log N), ω = √((N+1)/ln(N+1) − 1); ``"1"``:
    O(1), ω = √N.
    """
    if omega == "n":
        return 1.0
    if omega == "log":
        return math.sqrt((sublayers + 1) / math.log(sublayers + 1) - 1)
    return math.sqrt(sublayers)


def _require_post_ln(branches: list[Branch]) -> None:
    for branch in branches:
        if not isinstance(branch.post, nn.LayerNorm):
            raise SchemeError(
                f"admin needs post-LN residual blocks, LN(ω·x + F(x)); branch {branch.name!r} has no "
                "LayerNorm after its sum: build transformer with norm='post', or mark it with "
                "mark_branch(..., post=layer_norm)"
            )


def profile_omegas(model: nn.Module, data: torch.Tensor) -> dict[str, float]:
    """Admin's profiling pass: ω of each ``Residual`` (by module name), set while one forward runs.

    As the reference (LiyuanLucasLiu/Transformer-Clinic, ``admin_init_type='adaptive-profiling'``):
    per stack a running ratio r starts at 1; entering sublayer i, ω_i = r is set on its shortcut; after
    it, r = √(Var(ω_i·x_{i−1}) + Var(F_i(x_{i−1}))), the variances over every element of the batch
    (population variances). With LN'd inputs (Var x ≈ 1) this is ω_i² ≈ 1 + Σ_{j<i} Var F_j, the
    paper's ω_i² = Σ_{j<i} Var[F_j] with the embedding counted as the first term.
    """
    names = {id(m): name for name, m in model.named_modules()}
    ratio: dict[str | None, float] = {}
    omegas: dict[str, float] = {}
    branch_out: dict[int, torch.Tensor] = {}
    hooks = []

    def enter(block: Residual, args: tuple[Any, ...]) -> None:
        block.skip_scale = ratio.setdefault(block.stack, 1.0)
        omegas[names[id(block)]] = block.skip_scale

    def branch_done(branch: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> None:
        branch_out[id(branch)] = output

    def leave(block: Residual, args: tuple[Any, ...], output: torch.Tensor) -> None:
        skip = block.shortcut(args[0]).double() * block.skip_scale
        branch = branch_out.pop(id(block.branch)).double()
        if block.gain is not None:
            branch = branch * block.gain.item()
        ratio[block.stack] = math.sqrt(skip.var(unbiased=False).item() + branch.var(unbiased=False).item())

    for module in model.modules():
        if isinstance(module, Residual):
            hooks.append(module.register_forward_pre_hook(enter))
            hooks.append(module.branch.register_forward_hook(branch_done))
            hooks.append(module.register_forward_hook(leave))
    was_training = model.training
    model.eval()
    try:
        model(data.to(next(model.parameters()).device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return omegas


@register_scheme(
    "admin",
    family="transformer",
    paper=Paper(
        "Liu, Liu, Gao, Chen & Han",
        2020,
        "Understanding the Difficulty of Training Transformers (EMNLP)",
        arxiv="2004.08249",
    ),
    data="optional",
)
def admin(
    model: nn.Module,
    *,
    generator: torch.Generator,
    data: torch.Tensor | None = None,
    omega: Omega = "log",
    base: str = "xavier-uniform",
    base_params: dict[str, Any] | None = None,
) -> nn.Module:
    """Admin: x_i = LN(ω·x_{i−1} + F_i(x_{i−1})), ω from the depth, or profiled on a batch.

    Every weight first gets the ``base`` scheme (default Xavier-uniform, fairseq's). With N the number
    of residual sublayers of a stack (2 per layer: attention and FFN),

    - ``omega="n"``: ω = 1 (plain post-LN; output change O(N));
    - ``omega="log"``: ω² = (N+1)/ln(N+1) − 1 (O(log N); admin-torch's default);
    - ``omega="1"``: ω² = N (O(1));
    - ``omega="profile"``: the paper's Algorithm 1, run on ``data`` (``apply_init(model, "admin",
      omega="profile", data=batch)``): ω_i set from the variances of the earlier branches' outputs in
      one forward pass (see :func:`profile_omegas`). It needs initlab ``Residual`` blocks, whose
      shortcut it can scale while the pass runs. The depth formulas ignore a batch (a run passes one
      to every scheme that can take it).

    ω is each block's ``skip_scale`` (on a foreign post-LN block, marked ``post=``, the equivalent
    LN_{ε/ω²}(x + F/ω), see ``Branch.scale_skip``). Needs post-LN blocks (``norm="post"``).

    Paper vs reference: admin-torch's ``calculate_init(num_res_layers, output_change_scale)`` takes N
    as the number of residual sublayers (its docs: 2n for an n-layer encoder; a decoder layer with
    cross-attention has 3), as here, counted per stack; ω is a constant of the architecture here
    (``skip_scale``, not in the ``state_dict``), while admin-torch can also make it a parameter
    (``as_parameter``). Transformer-Clinic profiles in a separate run, writes ω to a file and
    restarts training from it; here the profiling pass runs in eval mode (no dropout) inside the
    init.
    """
    depths, branches = require_layer_marks(model, "admin")
    _require_post_ln(branches)
    if omega == "profile" and data is None:
        raise SchemeError(
            "admin: omega='profile' measures ω on a batch and needs one: apply_init(model, 'admin', "
            "omega='profile', data=batch) (a run passes its own); omega='n' | 'log' | '1' need none"
        )
    BaseInit(base, base_params)(model, generator)
    if omega == "profile":
        blocks = [branch for branch in branches if branch.residual is None]
        if blocks:
            raise SchemeError(
                f"admin omega='profile' scales shortcuts during a forward pass and needs initlab "
                f"Residual blocks; branch {blocks[0].name!r} is a marked foreign block: use omega='log'"
            )
        profile_omegas(model, data)
        return model
    sublayers = {stack: sum(b.stack == stack for b in branches) for stack in depths}
    for branch in branches:
        branch.scale_skip(admin_omega(sublayers[branch.stack], omega))
    return model
