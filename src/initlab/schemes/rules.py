"""The per-tensor quantities the formulas use: fans and nonlinearity gains.

``fan_in`` of a weight is the number of inputs of one output unit (``in_features``, or
``in_channels/groups · k₁ · k₂`` for a conv), ``fan_out`` the number of outputs one input feeds
(``out_features``, or ``out_channels · k₁ · k₂``), as ``torch.nn.init`` computes them. (For a
ConvTranspose, torch's dims 0 and 1 are in and out channels the other way round; initlab follows torch.)
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

FanMode = Literal["fan_in", "fan_out"]
FanAvgMode = Literal["fan_in", "fan_out", "fan_avg"]
Nonlinearity = Literal["relu", "leaky_relu", "tanh", "sigmoid", "linear", "selu"]


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight tensor (torch's definition)."""
    return nn.init._calculate_fan_in_and_fan_out(weight)


def fan(weight: torch.Tensor, mode: FanAvgMode) -> float:
    """The fan that ``mode`` names; ``fan_avg`` is (fan_in + fan_out)/2."""
    fan_in, fan_out = fans(weight)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def gain(nonlinearity: Nonlinearity, negative_slope: float = 0.01) -> float:
    """The He/Xavier gain that keeps the variance through ``nonlinearity``.

    relu √2; leaky_relu √(2/(1 + a²)); tanh 5/3; sigmoid, linear and selu 1. SELU's gain is 1 because
    self-normalizing networks use LeCun init, Var = 1/fan_in (Klambauer et al. 2017);
    ``torch.nn.init.calculate_gain('selu')`` returns 3/4 instead.
    """
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "tanh":
        return 5.0 / 3
    return 1.0


def xavier_std(weight: torch.Tensor, gain_: float = 1.0) -> float:
    """Glorot & Bengio's std: gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = fans(weight)
    return gain_ * math.sqrt(2.0 / (fan_in + fan_out))


def he_std(weight: torch.Tensor, mode: FanMode = "fan_in", gain_: float = math.sqrt(2.0)) -> float:
    """He et al.'s std: gain/√fan."""
    return gain_ / math.sqrt(fan(weight, mode))
