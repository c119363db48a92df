"""Activation functions by name, so a model spec can say ``activation="tanh"``."""

from __future__ import annotations

from typing import Literal

from torch import nn

Activation = Literal["relu", "elu", "tanh", "sigmoid", "gelu", "silu", "leaky_relu", "selu", "identity"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "identity": nn.Identity,
}


def make_activation(name: Activation) -> nn.Module:
    """A fresh activation module (never in-place: in-place ops hide a layer's output from probes)."""
    return _ACTIVATIONS[name]()
