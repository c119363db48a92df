"""The seed study's convolutional networks (c-schicho/ZeroInitializationSymmetry), activation a parameter."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from initlab.errors import ConfigError
from initlab.models.activations import Activation, make_activation
from initlab.models.registry import MODELS, require_input_shape
from initlab.models.roles import mark_head


@MODELS.register("mnist-cnn", family="seed")
def mnist_cnn(
    *, input_shape: tuple[int, ...], num_classes: int, activation: Activation = "elu"
) -> nn.Sequential:
    """The seed study's MNIST CNN: conv5×5 1→16 pad 2, act, conv5×5 16→32 pad 2, act, Linear 25088→10."""
    require_input_shape("mnist-cnn", (1, 28, 28), input_shape)
    return nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(1, 16, 5, padding=2),
            act1=make_activation(activation),
            conv2=nn.Conv2d(16, 32, 5, padding=2),
            act2=make_activation(activation),
            flatten=nn.Flatten(),
            head=mark_head(nn.Linear(32 * 28 * 28, num_classes)),
        )
    )


@MODELS.register("cifar-cnn", family="seed")
def cifar_cnn(
    *, input_shape: tuple[int, ...], num_classes: int, activation: Activation = "elu"
) -> nn.Sequential:
    """The seed study's CIFAR CNN: 3 conv stages (32,64 | 128,128 | 256,256), then 4096-1024-512-10.

    Each stage is [conv3×3 pad 1, act, conv3×3 pad 1, act, MaxPool 2, BatchNorm], BatchNorm after the
    pool as in the seed code; the activation also follows the first two Linear layers. Other image
    shapes (C, H, W) with H, W ≥ 8 get the same layers with C input channels and a first Linear of
    256·⌊H/8⌋·⌊W/8⌋ inputs (e.g. 2304 on Fashion-MNIST's 1×28×28).
    """
    if len(input_shape) != 3 or min(input_shape[1:]) < 8:
        raise ConfigError(
            f"model 'cifar-cnn' takes images (C, H, W) with H, W ≥ 8, like (3, 32, 32); the dataset "
            f"gives {tuple(input_shape)}"
        )
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    in_ch, conv = input_shape[0], 0
    for stage, (mid, out) in enumerate([(32, 64), (128, 128), (256, 256)], start=1):
        for width in (mid, out):
            conv += 1
            layers[f"conv{conv}"] = nn.Conv2d(in_ch, width, 3, padding=1)
            layers[f"act{conv}"] = make_activation(activation)
            in_ch = width
        layers[f"pool{stage}"] = nn.MaxPool2d(2)
        layers[f"bn{stage}"] = nn.BatchNorm2d(in_ch)
    layers["flatten"] = nn.Flatten()
    flat = 256 * (input_shape[1] // 8) * (input_shape[2] // 8)
    for i, (fan_in, fan_out) in enumerate([(flat, 1024), (1024, 512)], start=1):
        layers[f"fc{i}"] = nn.Linear(fan_in, fan_out)
        layers[f"fc_act{i}"] = make_activation(activation)
    layers["head"] = mark_head(nn.Linear(512, num_classes))
    return nn.Sequential(layers)
