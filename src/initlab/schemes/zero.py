"""ZerO: a deterministic init from zeros, ones and Hadamard matrices (Zhao, Schäfer & Anandkumar 2021)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from initlab.models.branches import residual_branches
from initlab.models.weights import weights
from initlab.schemes.registry import Paper, register_scheme

HadamardScale = Literal["paper", "notebook"]


def hadamard(order: int) -> torch.Tensor:
    """The Sylvester Hadamard matrix H_m of size 2^m × 2^m, entries ±1: H_0 = [1], H_m = [[H, H], [H, −H]]."""
    h = torch.ones(1, 1, dtype=torch.float64)
    for _ in range(order):
        h = torch.cat((torch.cat((h, h), 1), torch.cat((h, -h), 1)), 0)
    return h


def zero_matrix(rows: int, cols: int, scale: HadamardScale = "paper") -> torch.Tensor:
    """ZerO's Algorithm 1 for a rows × cols (out × in) matrix.

    rows = cols: I. rows < cols: the partial identity I* (W[i, j] = 1 if i = j). rows > cols:
    c·I*_{rows×2^m} H_m I*_{2^m×cols} = c·H_m[:rows, :cols], m = ⌈log₂ rows⌉, c = 2^(−(m−1)/2)
    (``scale="paper"``) or 2^(−m/2) (``"notebook"``, the reference notebook's normalisation).
    """
    if rows <= cols:
        return torch.eye(rows, cols, dtype=torch.float64)
    order = math.ceil(math.log2(rows))
    c = 2.0 ** (-(order - 1) / 2) if scale == "paper" else 2.0 ** (-order / 2)
    return c * hadamard(order)[:rows, :cols]


@register_scheme(
    "zero",
    family="deterministic",
    paper=Paper(
        "Zhao, Schäfer & Anandkumar",
        2021,
        "ZerO Initialization: Initializing Neural Networks with only Zeros and Ones",
        arxiv="2110.12661",
    ),
)
def zero(
    model: nn.Module,
    *,
    generator: torch.Generator,
    branch_last: Literal["zero", "matrix"] = "zero",
    hadamard_scale: HadamardScale = "paper",
) -> nn.Module:
    """ZerO: identity, partial identity or a scaled Hadamard matrix per layer; no randomness.

    For a weight W of out × in (a conv: its centre tap, every other tap 0):
    out = in: W = I; out < in: W = I* (partial identity, W[i, j] = 1 if i = j); out > in:
    W = c·I* H_m I* = c·H_m[:out, :in], H_m the 2^m × 2^m Hadamard matrix, m = ⌈log₂ out⌉,
    c = 2^(−(m−1)/2). The matrix has full rank min(out, in); when in ≤ 2^(m−1), rows i and i + 2^(m−1) of
    Sylvester's H_m agree on the first ``in`` columns, so those units start alike (the next layer's
    distinct columns tell them apart after one step). Biases 0; other parameters keep their values.
    The last layer of each residual branch is 0 (``branch_last="zero"``), so each block starts as the
    identity (the reference's ResNet, ``cifar/augskip_resnet.py``, zero-initialises the convolutions of
    its residual blocks); ``branch_last="matrix"`` applies the rule above to them too.

    Paper vs reference (jiaweizzhao/ZerO-initialization ``example_mnist.ipynb``,
    ``ZerO_Init_on_matrix``): the notebook normalises the Hadamard matrix by 2^(−m/2) where the paper's
    Algorithm 1 says c = 2^(−(m−1)/2) (``hadamard_scale="notebook"`` reproduces it). The reference uses
    a ReLU whose derivative at 0 is 1; initlab's ReLU has derivative 0 there. The conv variant is not
    in the reference repository.
    """
    zeroed = {id(branch.last) for branch in residual_branches(model)} if branch_last == "zero" else set()
    for weight in weights(model):
        tensor = weight.tensor
        if id(weight.module) in zeroed:
            tensor.zero_()
        else:
            matrix = zero_matrix(tensor.shape[0], tensor.shape[1], hadamard_scale).to(tensor.dtype)
            tensor.zero_()
            centre = tuple(k // 2 for k in tensor.shape[2:])
            tensor[(slice(None), slice(None), *centre)] = matrix.to(tensor.device)
        if weight.bias is not None:
            weight.bias.zero_()
    return model
