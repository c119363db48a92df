"""The seed study's scheme: zero weights, random biases."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from initlab.models.roles import WEIGHT_LAYER_TYPES
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.sampling import normal_, uniform_


@register_scheme(
    "zero-weight-random-bias",
    family="seed",
    paper=Paper(
        "C. Schicho",
        None,
        "Training neural networks with zero weight initialization",
        url="https://github.com/c-schicho/ZeroInitializationSymmetry",
    ),
)
def zero_weight_random_bias(
    model: nn.Module,
    *,
    generator: torch.Generator,
    dist: Literal["normal", "uniform"] = "normal",
    scale: Annotated[float, Field(ge=0)] = 1.0,
    shift: float = 0.0,
) -> nn.Module:
    """Every weight of every Linear and Conv is 0; biases are random.

    ``dist="normal"``: b ~ N(shift, scale²). ``dist="uniform"``: b ~ U[shift, shift + scale).
    The seed study used shift 0 and scale ("factor") 0.01, 1 and 100. The units of a layer differ
    only by their biases, so they compute different functions, yet every weight update is an outer
    product with an input-independent factor at first: the weight matrices start at rank 1.
    """
    for module in model.modules():
        if isinstance(module, WEIGHT_LAYER_TYPES):
            nn.init.zeros_(module.weight)
            if module.bias is None:
                continue
            if dist == "normal":
                normal_(module.bias, shift, scale, generator)
            else:
                uniform_(module.bias, shift, shift + scale, generator)
    return model
