"""Per-parameter audit rows: what init each parameter has, and what the named scheme expects.

The expected statistics come from the scheme itself: it is applied to two deep copies of the model
with two generators. A parameter that comes out identical in both is deterministic under the scheme
(zeros, ones, an identity) and must match exactly; any other is random, and its std and mean must
match the copies' within a tolerance set by the sample size (below). So every scheme, and every role
rule inside it, is covered without restating its formula.

Tolerance: the sample std s of n draws with kurtosis κ has SE(s) ≈ σ·√((κ − 1)/(4n)) (σ/√(2n) for a
normal); the model's std and the reference's (pooled over 2n draws) are compared within ``sigmas``
combined standard errors, and the means within ``sigmas``·σ·√(1/n + 1/(2n)).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from initlab.models.branches import residual_branches
from initlab.models.roles import NORM_LAYER_TYPES, find_head
from initlab.models.weights import is_transposed_linear, module_role, weight_modules
from initlab.schemes.registry import apply_init

#: Standard errors a random parameter's std and mean may differ from the scheme's by.
SIGMAS = 6.0


@dataclass(frozen=True)
class ParamRow:
    """One parameter: where it is, what it holds, and (with a scheme) what the scheme expects.

    ``zero``: every entry 0; ``constant``: every entry equal. ``expected_std`` is the scheme's std for
    this parameter, ``ratio`` = std / expected_std, ``ok`` whether the parameter matches the scheme
    (exactly where the scheme is deterministic); None without a scheme. ``note`` flags what the
    audit found (a packed q/k/v matrix, a copy of another tensor).
    """

    name: str
    role: str
    shape: str
    fan_in: int | None
    fan_out: int | None
    mean: float
    std: float
    min: float
    max: float
    zero: bool
    constant: bool
    expected_std: float | None = None
    ratio: float | None = None
    ok: bool | None = None
    note: str = ""


def parameter_roles(model: nn.Module) -> dict[str, str]:
    """``{parameter name: role}``: marked roles, branch ends, head, norms, embeddings, branch gains."""
    branch_last = {id(b.last) for b in residual_branches(model)}
    head = find_head(model)
    roles = {}
    for module_name, module in model.named_modules():
        role = module_role(module)
        if role is None:
            if module is head:
                role = "head"
            elif id(module) in branch_last:
                role = "branch-last"
            elif isinstance(module, NORM_LAYER_TYPES):
                role = "norm"
            elif isinstance(module, nn.Embedding):
                role = "embedding"
            elif isinstance(module, nn.MultiheadAttention):
                role = "attention"
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            roles[full] = "gain" if param_name in ("initlab_gain", "gain") else (role or "")
    return roles


def parameter_fans(model: nn.Module) -> dict[str, tuple[int, int]]:
    """``{weight name: (fan_in, fan_out)}`` as torch computes them, Hugging Face Conv1D read (out, in)."""
    fans = {}
    for name, module in weight_modules(model):
        prefix = f"{name}." if name else ""
        if isinstance(module, nn.MultiheadAttention):
            tensors = {k: v for k, v in module.named_parameters(recurse=False) if k.endswith("weight")}
        else:
            tensors = {"weight": module.weight.T if is_transposed_linear(module) else module.weight}
        for key, tensor in tensors.items():
            if tensor is not None and tensor.dim() >= 2:
                fans[prefix + key] = nn.init._calculate_fan_in_and_fan_out(tensor)
    return fans


def _stats(tensor: torch.Tensor) -> dict[str, Any]:
    data = tensor.detach().double().cpu().flatten()
    first = data[0] if data.numel() else torch.tensor(0.0, dtype=torch.float64)
    return {
        "mean": data.mean().item(),
        "std": data.std(unbiased=False).item(),
        "min": data.min().item(),
        "max": data.max().item(),
        "zero": not bool(data.any()),
        "constant": bool((data == first).all()),
    }


def parameter_rows(model: nn.Module) -> list[ParamRow]:
    """One row per parameter of ``model`` (tied parameters once), in registration order."""
    roles, fans = parameter_roles(model), parameter_fans(model)
    rows = []
    for name, param in model.named_parameters():
        fan_in, fan_out = fans.get(name, (None, None))
        shape = "×".join(map(str, param.shape)) or "scalar"
        rows.append(ParamRow(name, roles.get(name, ""), shape, fan_in, fan_out, **_stats(param)))
    return rows


@dataclass(frozen=True)
class Expected:
    """A parameter under the scheme: deterministic (its exact value) or random (its moments)."""

    value: torch.Tensor | None
    mean: float
    std: float
    kurtosis: float


def expected_parameters(
    model: nn.Module, scheme: str, seeds: tuple[int, int] = (0, 1), **params: Any
) -> dict[str, Expected]:
    """``{parameter name: Expected}`` from the scheme applied to two deep copies of ``model``."""
    copies = []
    for seed in seeds:
        twin = copy.deepcopy(model)
        apply_init(twin, scheme, torch.Generator().manual_seed(seed), **params)
        copies.append(dict(twin.named_parameters()))
    expected = {}
    for name, first in copies[0].items():
        second = copies[1][name]
        if torch.equal(first, second):
            expected[name] = Expected(first.detach().clone(), *_moments(first.detach().double().flatten()))
        else:
            pooled = torch.cat([first.detach().double().flatten(), second.detach().double().flatten()])
            expected[name] = Expected(None, *_moments(pooled))
    return expected


def _moments(data: torch.Tensor) -> tuple[float, float, float]:
    mean, std = data.mean().item(), data.std(unbiased=False).item()
    kurtosis = ((data - mean) ** 4).mean().item() / std**4 if std > 0 else 3.0
    return mean, std, kurtosis


def check(row: ParamRow, param: torch.Tensor, expected: Expected, sigmas: float = SIGMAS) -> ParamRow:
    """``row`` with the expected std, the ratio and whether ``param`` matches the scheme."""
    ratio = row.std / expected.std if expected.std > 0 else (1.0 if row.std == 0 else math.inf)
    if expected.value is not None:
        ok = expected.value.shape == param.shape and torch.equal(
            param.detach().to(expected.value), expected.value
        )
    else:
        n = param.numel()
        se_std = expected.std * math.sqrt(max(expected.kurtosis - 1, 0.0) * (1 / (4 * n) + 1 / (8 * n)))
        se_mean = expected.std * math.sqrt(1 / n + 1 / (2 * n))
        ok = (
            abs(row.std - expected.std) <= sigmas * se_std
            and abs(row.mean - expected.mean) <= sigmas * se_mean
        )
    return replace(row, expected_std=expected.std, ratio=ratio, ok=ok)
