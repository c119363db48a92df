"""The model registry: ``build_model("mnist-fnn", input_shape=(1, 28, 28), num_classes=10)``.

A model name is a registered name or an import path ``package.module:factory``: a class or a
function taking the model params, and ``input_shape`` / ``num_classes`` where it names them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import nn

from initlab.errors import ConfigError, InitlabError
from initlab.imports import source_hash
from initlab.registry import Registry

MODELS: Registry = Registry("model", injected=("input_shape", "num_classes"), importable=True)


def build_model(
    name: str, *, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10, **params: Any
) -> nn.Module:
    """Build model ``name`` for inputs of ``input_shape`` (C, H, W) and ``num_classes``.

    A user's factory gets ``input_shape`` and ``num_classes`` if it names them; one that raises, or
    returns something other than an ``nn.Module``, is a ConfigError saying so.
    """
    entry = MODELS.get(name)
    injected = {"input_shape": tuple(input_shape), "num_classes": num_classes}
    kwargs = {key: value for key, value in injected.items() if entry.takes(key)}
    params = entry.validate(params)
    try:
        model = entry.fn(**kwargs, **params)
    except InitlabError:
        raise
    except Exception as exc:
        if not is_user_model(name):
            raise
        shown = ", ".join(f"{k}={v!r}" for k, v in {**params, **kwargs}.items())
        raise ConfigError(
            f"model {name!r} raised {type(exc).__name__}: {exc} (called with {shown})"
        ) from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model {name!r} returned a value of type {type(model).__name__}, not an nn.Module")
    return model


def is_user_model(name: str) -> bool:
    """Whether model ``name`` comes from outside initlab (an import path, or registered by user code)."""
    module = _module_of(name)
    return module != "initlab" and not module.startswith("initlab.")


def model_source(name: str) -> str | None:
    """The hash of the source of the module that model ``name`` comes from, for a user's model
    (:func:`is_user_model`); None for initlab's own, which its version identifies."""
    return source_hash(_module_of(name)) if is_user_model(name) else None


def _module_of(name: str) -> str:
    return getattr(MODELS.get(name).fn, "__module__", None) or ""


def require_input_shape(model: str, expected: tuple[int, ...], given: tuple[int, ...]) -> None:
    """Refuse a dataset whose samples do not have the shape a fixed architecture was built for."""
    if tuple(given) != expected:
        raise ConfigError(
            f"model {model!r} takes inputs of shape {expected}; the dataset gives {tuple(given)}"
        )


def flat_size(input_shape: Sequence[int]) -> int:
    return math.prod(input_shape)
