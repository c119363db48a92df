"""Data-dependent schemes: LSUV scales each layer on a batch of real inputs."""

from __future__ import annotations

import math
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from initlab.errors import SchemeError
from initlab.models.roles import weight_layers
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.sampling import orthogonal_


class _Captured(Exception):
    """Stops a forward pass once the watched layer's output is in hand."""

    def __init__(self, output: torch.Tensor):
        self.output = output


def forward_order(model: nn.Module, data: torch.Tensor) -> list[tuple[str, nn.Module]]:
    """The weight layers of ``model`` in the order one forward pass on ``data`` calls them first."""
    order: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()
    hooks = []
    for name, layer in weight_layers(model):

        def record(module: nn.Module, args: object, output: object, name: str = name) -> None:
            if id(module) not in seen:
                seen.add(id(module))
                order.append((name, module))

        hooks.append(layer.register_forward_hook(record))
    try:
        model(data)
    finally:
        for hook in hooks:
            hook.remove()
    return order


def layer_output(model: nn.Module, layer: nn.Module, data: torch.Tensor) -> torch.Tensor:
    """The output of ``layer`` when ``model`` runs on ``data`` (the rest of the pass is skipped)."""

    def capture(module: nn.Module, args: object, output: torch.Tensor) -> None:
        raise _Captured(output)

    hook = layer.register_forward_hook(capture)
    try:
        model(data)
    except _Captured as captured:
        return captured.output
    finally:
        hook.remove()
    raise SchemeError("lsuv: the layer was not called in the forward pass")


def _scale_to_unit_variance(
    model: nn.Module, name: str, layer: nn.Module, data: torch.Tensor, tol: float, max_iter: int
) -> None:
    """LSUV's inner loop for one layer: W ← W/√Var(output) until |Var − 1| < tol, at most max_iter passes."""
    for _ in range(max_iter):
        var = layer_output(model, layer, data).double().var().item()
        if not math.isfinite(var) or var == 0.0:
            what = "a constant" if var == 0 else f"variance {var}"
            raise SchemeError(f"lsuv: layer {name!r} outputs {what} on the data batch; it cannot be scaled")
        if abs(var - 1.0) < tol:
            return
        layer.weight.div_(math.sqrt(var))


@register_scheme(
    "lsuv",
    family="data-dependent",
    paper=Paper("Mishkin & Matas", 2016, "All you need is a good init", arxiv="1511.06422"),
    data="required",
)
def lsuv(
    model: nn.Module,
    *,
    generator: torch.Generator,
    data: torch.Tensor,
    tol: Annotated[float, Field(gt=0)] = 0.1,
    max_iter: Annotated[int, Field(ge=1)] = 10,
    orthogonal: bool = True,
) -> nn.Module:
    """LSUV: orthonormal init, then scale each layer until its output variance on a batch is 1 ± tol.

    1. (``orthogonal``) every Linear/Conv weight orthonormal (Saxe et al., convs flattened), biases 0;
    2. for each weight layer L in forward order: forward the batch, B = L's output;
       while |Var(B) − 1| ≥ tol and fewer than ``max_iter`` passes: W_L ← W_L/√Var(B).

    Var is over the whole output (samples, units, positions). Call it as
    ``apply_init(model, "lsuv", data=batch)``; the model runs in eval mode (BatchNorm's running
    statistics are neither used from the batch nor updated) and is put back in its mode afterwards.
    A layer whose output is constant on the batch cannot be scaled and is refused.

    Paper vs reference (ducha-aiki/LSUV-pytorch ``LSUV.py``): the reference also shifts each bias so
    that the layer's output mean is 0, which the paper does not do (not done here); it compares the
    std, not the variance, with the tolerance (|std − 1| < 0.1 is |Var − 1| ≲ 0.2).
    """
    reference = next(model.parameters())
    data = data.to(reference.device)
    was_training = model.training
    model.eval()
    try:
        if orthogonal:
            for _, layer in weight_layers(model):
                orthogonal_(layer.weight, 1.0, generator)
                if layer.bias is not None:
                    layer.bias.zero_()
        for name, layer in forward_order(model, data):
            _scale_to_unit_variance(model, name, layer, data, tol, max_iter)
    finally:
        model.train(was_training)
    return model
