"""A module that registers a model under a name, for ``--import examples.my_plugin`` (or the
``imports`` config field, or an ``initlab.plugins`` entry point of an installed package).

    initlab run --import examples.my_plugin --dataset digits --model my-mlp --epochs 1
"""

from __future__ import annotations

from examples.my_models import mlp
from torch import nn

from initlab.models import MODELS


@MODELS.register("my-mlp")
def my_mlp(*, input_shape: tuple[int, ...], num_classes: int, hidden: int = 32) -> nn.Module:
    """examples.my_models.mlp with a tanh hidden layer, registered as 'my-mlp'."""
    return mlp(input_shape, num_classes, hidden=hidden, activation="tanh")
