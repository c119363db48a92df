"""Your own models, as initlab takes them: plain PyTorch, named by import path.

    initlab run --dataset digits --model examples.my_models:SmallResNet --model-param width=8 --epochs 1

A model is a class or a function; its named parameters are the model params (``--model-param``,
``model_params`` in TOML), checked against their type hints, and it gets ``input_shape`` (C, H, W)
and ``num_classes`` from the dataset where it names them. Nothing here imports initlab.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn


class BasicBlock(nn.Module):
    """A residual block in torchvision's layout: conv1, bn1, relu, conv2, bn2, plus the input (initlab
    finds its branch by these names and the ``downsample`` slot)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None  # torchvision's slot for a projection shortcut; identity here

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + x)


class SmallResNet(nn.Module):
    """A stem convolution, ``blocks`` residual blocks of ``width`` channels, global pooling, a linear head."""

    def __init__(
        self,
        input_shape: tuple[int, ...] = (1, 8, 8),
        num_classes: int = 10,
        width: int = 16,
        blocks: int = 2,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[0], width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.layers = nn.Sequential(*(BasicBlock(width) for _ in range(blocks)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def mlp(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    hidden: int = 64,
    activation: Literal["relu", "tanh"] = "relu",
) -> nn.Sequential:
    """A one-hidden-layer perceptron on the flattened input."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(math.prod(input_shape), hidden),
        nn.ReLU() if activation == "relu" else nn.Tanh(),
        nn.Linear(hidden, num_classes),
    )
