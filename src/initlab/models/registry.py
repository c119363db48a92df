"""The model registry: ``build_model("mnist-fnn", input_shape=(1, 28, 28), num_classes=10)``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import nn

from initlab.errors import ConfigError
from initlab.registry import Registry

MODELS: Registry = Registry("model", injected=("input_shape", "num_classes"))


def build_model(
    name: str, *, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10, **params: Any
) -> nn.Module:
    """Build registered model ``name`` for inputs of ``input_shape`` (C, H, W) and ``num_classes``."""
    entry = MODELS.get(name)
    return entry.fn(input_shape=tuple(input_shape), num_classes=num_classes, **entry.validate(params))


def require_input_shape(model: str, expected: tuple[int, ...], given: tuple[int, ...]) -> None:
    """Refuse a dataset whose samples do not have the shape a fixed architecture was built for."""
    if tuple(given) != expected:
        raise ConfigError(
            f"model {model!r} takes inputs of shape {expected}; the dataset gives {tuple(given)}"
        )


def flat_size(input_shape: Sequence[int]) -> int:
    return math.prod(input_shape)
