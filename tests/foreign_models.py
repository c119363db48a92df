"""A foreign model in torchvision's layout (BasicBlock / Bottleneck), for the role helpers' tests."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """torchvision's BasicBlock layout (conv1, bn1, relu, conv2, bn2, downsample)."""

    def __init__(self, c: int, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), norm(c)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), norm(c)
        self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + x)


class Bottleneck(BasicBlock):
    """torchvision's Bottleneck layout (conv1..3, bn1..3, downsample)."""

    def __init__(self, c: int, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__(c, norm)
        self.conv3, self.bn3 = nn.Conv2d(c, c, 1, bias=False), norm(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        return self.relu(self.bn3(self.conv3(out)) + x)


class ForeignNet(nn.Module):
    def __init__(self, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(4, norm), BasicBlock(4, norm), Bottleneck(4, norm))
        self.fc = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layer1(self.conv1(x)).mean((2, 3)))
