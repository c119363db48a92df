"""The seed study's scheme: zero weights, random biases."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from initlab.errors import SchemeError
from initlab.models.weights import weights
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
    layerwise=True,
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

    Every Linear and Conv is covered, the layers inside residual branches included. (The seed study's
    ResNet-50 zeroed only its stem conv and its head: its loop tested the wrong variable.) A model
    with a layer without bias is refused: that layer would output 0 forever, its units alike (build
    the model with ``bias=True``).
    """
    layers = weights(model)
    unbiased = [w.name for w in layers if w.bias is None]
    if unbiased:
        raise SchemeError(
            f"zero-weight-random-bias needs a bias in every Linear/Conv layer (a zero layer without one "
            f"outputs 0 and its units stay alike); {len(unbiased)} have none, the first {unbiased[0]!r}: "
            "give each one a bias (initlab's models: bias=True)"
        )
    for weight in layers:
        weight.tensor.zero_()
        if dist == "normal":
            normal_(weight.bias, shift, scale, generator)
        else:
            uniform_(weight.bias, shift, shift + scale, generator)
    return model
