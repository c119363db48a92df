"""Weight matrices as init formulas see them: one ``(out, in, *kernel)`` view per matrix.

Formulas name matrices (W_q, W_v, a conv kernel), while models store them in several layouts:

- ``nn.Linear`` and ``nn.ConvNd``: ``weight`` as it is;
- Hugging Face's ``Conv1D`` (GPT-2's ``c_attn``, ``c_proj``, ``c_fc``: y = x·W + b, W stored as
  ``(in, out)``): the view ``weight.T``, so that ``fans`` reads fan_in and fan_out the right way round;
- ``nn.MultiheadAttention``: the packed ``in_proj_weight`` (3E × E) as three E × E views, W_q, W_k
  and W_v with the roles query, key and value (or its separate ``q_proj_weight`` ... when kdim/vdim
  differ); its ``out_proj`` is a Linear with the role attn-out;
- a layer marked with the role ``qkv`` (a fused projection such as GPT-2's ``c_attn``): three views
  along its output dimension.

Writing into a view writes into the model's parameter, so a scheme fills ``Weight.tensor`` in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from initlab.models.roles import ATTN_OUT, KEY, QKV, QUERY, VALUE, WEIGHT_LAYER_TYPES, role_of

QKV_ROLES = (QUERY, KEY, VALUE)


def is_transposed_linear(module: nn.Module) -> bool:
    """Hugging Face's ``Conv1D``: a linear map whose 2-D weight is stored ``(in, out)``."""
    weight = getattr(module, "weight", None)
    return (
        type(module).__name__ == "Conv1D"
        and isinstance(weight, torch.Tensor)
        and weight.dim() == 2
        and weight.shape[1] == getattr(module, "nf", None)
    )


def is_weight_module(module: nn.Module) -> bool:
    """A module holding weight matrices: Linear, ConvNd, Hugging Face Conv1D, nn.MultiheadAttention."""
    return isinstance(module, (*WEIGHT_LAYER_TYPES, nn.MultiheadAttention)) or is_transposed_linear(module)


@dataclass(frozen=True)
class Weight:
    """One weight matrix: ``tensor`` is an ``(out, in, *kernel)`` view of the model's parameter.

    ``bias`` is the matching view of the bias (None without one); ``packed`` says the matrix is one
    of several stored in a single parameter (q/k/v in ``in_proj_weight`` or a fused ``qkv`` layer).
    """

    name: str
    module: nn.Module
    tensor: torch.Tensor
    bias: torch.Tensor | None
    role: str | None
    packed: bool = False


def _split(name: str, module: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> list[Weight]:
    size = weight.shape[0] // 3
    parts = []
    for i, role in enumerate(QKV_ROLES):
        rows = slice(i * size, (i + 1) * size)
        part_bias = None if bias is None else bias[rows]
        parts.append(Weight(f"{name}[{role[0]}]", module, weight[rows], part_bias, role, packed=True))
    return parts


def module_weights(name: str, module: nn.Module) -> list[Weight]:
    """The weight matrices of one weight module (see the module docstring); [] for any other module."""
    if isinstance(module, nn.MultiheadAttention):
        bias = module.in_proj_bias
        if module.in_proj_weight is not None:
            return _split(_join(name, "in_proj_weight"), module, module.in_proj_weight, bias)
        separate = (module.q_proj_weight, module.k_proj_weight, module.v_proj_weight)
        size = module.embed_dim
        return [
            Weight(
                _join(name, f"{role[0]}_proj_weight"),
                module,
                weight,
                None if bias is None else bias[i * size : (i + 1) * size],
                role,
            )
            for i, (role, weight) in enumerate(zip(QKV_ROLES, separate, strict=True))
        ]
    if not is_weight_module(module):
        return []
    weight = module.weight.T if is_transposed_linear(module) else module.weight
    bias = getattr(module, "bias", None)
    if role_of(module) == QKV:
        return _split(_join(name, "weight"), module, weight, bias)
    return [Weight(_join(name, "weight"), module, weight, bias, module_role(module))]


def _join(name: str, attr: str) -> str:
    return f"{name}.{attr}" if name else attr


def module_role(module: nn.Module) -> str | None:
    role = role_of(module)
    if role is None and isinstance(module, nn.modules.linear.NonDynamicallyQuantizableLinear):
        return ATTN_OUT  # nn.MultiheadAttention's out_proj
    return role


def weight_modules(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every module that holds weight matrices, in registration order."""
    for name, module in model.named_modules():
        if is_weight_module(module):
            yield name, module


def weights(model: nn.Module) -> list[Weight]:
    """Every weight matrix of ``model`` as an ``(out, in, *kernel)`` view, in registration order."""
    return [w for name, module in weight_modules(model) for w in module_weights(name, module)]


def weights_of(modules: tuple[nn.Module, ...] | list[nn.Module]) -> list[Weight]:
    """The weight matrices of the given weight modules (a branch's layers)."""
    return [w for module in modules for w in module_weights(type(module).__name__, module)]


def zero_module(module: nn.Module) -> None:
    """Every weight matrix and bias of ``module`` set to 0 (improved-diffusion's ``zero_module``)."""
    for weight in module_weights("", module):
        weight.tensor.zero_()
        if weight.bias is not None:
            weight.bias.zero_()
