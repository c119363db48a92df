"""Fully connected models: a configurable MLP, logistic regression, and the seed study's FNNs.

Layers are named ``fc1, act1, fc2, ..., head`` so per-layer tables read naturally.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field
from torch import nn

from initlab.models.activations import Activation, make_activation
from initlab.models.registry import MODELS, flat_size, require_input_shape
from initlab.models.roles import mark_head


def fully_connected(
    in_features: int, widths: Sequence[int], num_classes: int, activation: Activation, bias: bool = True
) -> nn.Sequential:
    """Flatten, then ``Linear -> activation`` for each hidden width, then the head Linear."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    fan_in = in_features
    for i, width in enumerate(widths, start=1):
        layers[f"fc{i}"] = nn.Linear(fan_in, width, bias=bias)
        layers[f"act{i}"] = make_activation(activation)
        fan_in = width
    layers["head"] = mark_head(nn.Linear(fan_in, num_classes, bias=bias))
    return nn.Sequential(layers)


@MODELS.register("mlp", family="fnn")
def mlp(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    widths: list[Annotated[int, Field(gt=0)]] | None = None,
    depth: Annotated[int, Field(ge=1, le=10_000)] = 3,
    width: Annotated[int, Field(gt=0)] = 256,
    activation: Activation = "relu",
    bias: bool = True,
) -> nn.Sequential:
    """A multilayer perceptron with ``depth`` Linear layers (the head included) of ``width`` units.

    ``widths`` lists the hidden widths explicitly and then overrides ``depth`` and ``width``:
    ``widths=[500]`` is 784-500-10 on MNIST.
    """
    hidden = widths if widths is not None else [width] * (depth - 1)
    return fully_connected(flat_size(input_shape), hidden, num_classes, activation, bias)


@MODELS.register("logistic", family="fnn")
def logistic(*, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """Multinomial logistic regression: one Linear layer on the flattened input (the seed study's baseline).

    The seed study's reference point: what a model without hidden units reaches (.925 on MNIST).
    """
    return fully_connected(flat_size(input_shape), [], num_classes, "identity")


@MODELS.register("mnist-fnn", family="seed")
def mnist_fnn(
    *, input_shape: tuple[int, ...], num_classes: int, activation: Activation = "elu"
) -> nn.Sequential:
    """The seed study's MNIST FNN: 784-500-10 with ELU (c-schicho/ZeroInitializationSymmetry)."""
    require_input_shape("mnist-fnn", (1, 28, 28), input_shape)
    return fully_connected(784, [500], num_classes, activation)


@MODELS.register("cifar-fnn", family="seed")
def cifar_fnn(
    *, input_shape: tuple[int, ...], num_classes: int, activation: Activation = "elu"
) -> nn.Sequential:
    """The seed study's CIFAR FNN: 3072-512-256-128-10 with ELU."""
    require_input_shape("cifar-fnn", (3, 32, 32), input_shape)
    return fully_connected(3072, [512, 256, 128], num_classes, activation)
