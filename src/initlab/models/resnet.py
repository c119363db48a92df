"""CIFAR ResNets: He et al.'s resnet-20/32/44/56/110 and the seed study's kuangliu-layout ResNet-50.

Every residual block is a :class:`~initlab.models.blocks.Residual`, the classifier is marked as head,
and three options change the structure the init schemes see:

- ``norm="batch" | "none"``: BatchNorm after each conv (and in projection shortcuts), or none at all;
- ``fixup=True`` (needs ``norm="none"``): Fixup's structure (Zhang, Dauphin & Ma 2019, arXiv 1901.09321,
  reference ``hongyi-zhang/Fixup``): a scalar bias before each conv, activation and the classifier, and
  one scalar multiplier per branch, exactly as the reference builds it. A basic block is
  ``act(x + b2b + s·conv2(b2a + act(b1b + conv1(b1a + x))))``; a downsampling block's shortcut takes
  ``x + b1a`` (the same ``b1a`` module is shared by the branch and the shortcut). The stem is
  ``act(conv(x) + b)`` and the head ``fc(pool(x) + b)``.
- ``branch_gain=True``: a learnable scalar gain (initialised to 1) on every branch, the parameter that
  SkipInit and ReZero set to 0 (they add it themselves when the model has none);
- ``shortcut="pad" | "conv"`` (resnet-cifar): He et al.'s option A (subsample, append zero channels;
  no parameters; the Fixup CIFAR reference's choice) or option B (a strided 1×1 conv [+ BN]).

A fact to know before comparing zero-init schemes on option-A ResNets: a downsampling block's appended
channels get shortcut 0, and a branch that starts at exactly 0 (``zero-last-layer``, ``zero-last-norm``)
adds 0, so their pre-activation is exactly 0 and ReLU'(0) = 0 passes no gradient back: those channels
stay dead for good (resnet-20: at least 16 of 32 channels of stage 2 and 48 of 64 of stage 3). A learnable
branch gain or scalar bias (``skipinit``, ``rezero``, ``fixup``) brings them back; ``shortcut="conv"``
avoids the problem.

What each residual scheme needs: ``fixup`` a model built with ``norm="none", fixup=True``;
``skipinit`` ``norm="none"`` (or its ``norm="remove"``); ``rezero``, ``zero-last-layer`` any;
``zero-last-norm`` ``norm="batch"``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Literal

from pydantic import Field
from torch import nn

from initlab.errors import ConfigError
from initlab.models.activations import Activation, make_activation
from initlab.models.blocks import PadShortcut, Residual, ScalarBias, ScalarMultiplier
from initlab.models.registry import MODELS
from initlab.models.roles import mark_head

Norm = Literal["batch", "none"]


class _Spec:
    """What every conv of one network shares: norm, activation, conv biases, Fixup, branch gains."""

    def __init__(self, norm: Norm, activation: Activation, bias: bool, fixup: bool, branch_gain: bool):
        if fixup and norm != "none":
            raise ConfigError(
                f"fixup=True builds Fixup's normalization-free structure and needs norm='none', not {norm!r}"
            )
        self.norm, self.activation, self.bias, self.fixup = norm, activation, bias, fixup
        self.gain = 1.0 if branch_gain else None

    def conv(self, cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
        return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=self.bias)

    def bn(self, channels: int) -> OrderedDict[str, nn.Module]:
        return OrderedDict(bn=nn.BatchNorm2d(channels)) if self.norm == "batch" else OrderedDict()

    def act(self) -> nn.Module:
        return make_activation(self.activation)

    def stem(self, cin: int, cout: int) -> nn.Sequential:
        layers: OrderedDict[str, nn.Module] = OrderedDict(conv=self.conv(cin, cout, 3))
        layers.update(self.bn(cout))
        if self.fixup:
            layers["bias"] = ScalarBias()
        layers["act"] = self.act()
        return nn.Sequential(layers)

    def head(self, features: int, num_classes: int) -> nn.Sequential:
        layers: OrderedDict[str, nn.Module] = OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten())
        if self.fixup:
            layers["bias"] = ScalarBias()
        layers["fc"] = mark_head(nn.Linear(features, num_classes))
        return nn.Sequential(layers)

    def branch(self, convs: list[nn.Conv2d]) -> tuple[nn.Sequential, ScalarBias | None]:
        """``conv1 [bn1] act conv2 [bn2] ... convK [bnK]``, with Fixup's scalars when asked.

        Returns the branch and, for Fixup, its first scalar bias (which a downsampling shortcut shares).
        """
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        first_bias = ScalarBias() if self.fixup else None
        for i, conv in enumerate(convs, start=1):
            last = i == len(convs)
            if self.fixup:
                layers[f"bias{i}a"] = first_bias if i == 1 else ScalarBias()
            layers[f"conv{i}"] = conv
            for name, module in self.bn(conv.out_channels).items():
                layers[f"{name}{i}"] = module
            if self.fixup and last:
                layers["scale"] = ScalarMultiplier()
            if self.fixup:
                layers[f"bias{i}b"] = ScalarBias()
            if not last:
                layers[f"act{i}"] = self.act()
        return nn.Sequential(layers), first_bias

    def shortcut(self, cin: int, cout: int, stride: int, kind: Literal["pad", "conv"]) -> list[nn.Module]:
        """Nothing (identity) when the shape is kept; else option A (pad) or B (1×1 conv [+ BN])."""
        if stride == 1 and cin == cout:
            return []
        if kind == "pad":
            return [PadShortcut(stride, cout - cin)]
        return [self.conv(cin, cout, 1, stride), *self.bn(cout).values()]

    def block(self, convs: list[nn.Conv2d], shortcut: list[nn.Module]) -> Residual:
        """A residual block with ``shortcut`` (empty: identity); under Fixup it takes ``x + b1a``."""
        branch, first_bias = self.branch(convs)
        short = None
        if shortcut:
            short = nn.Sequential(*([first_bias] if first_bias is not None else []), *shortcut)
        return Residual(branch, short, post=self.act(), gain=self.gain)


def _check_depth(depth: int) -> int:
    if (depth - 2) % 6:
        allowed = ", ".join(str(6 * n + 2) for n in (1, 2, 3, 5, 7, 9, 18))
        raise ConfigError(f"depth={depth} is not of the form 6n+2; allowed: {allowed}, ...")
    return (depth - 2) // 6


@MODELS.register("resnet-cifar", family="resnet")
def resnet_cifar(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    depth: Annotated[int, Field(ge=8, le=10_000)] = 20,
    width: Annotated[int, Field(gt=0)] = 16,
    norm: Norm = "batch",
    fixup: bool = False,
    branch_gain: bool = False,
    shortcut: Literal["pad", "conv"] = "pad",
    activation: Activation = "relu",
    bias: bool = False,
) -> nn.Sequential:
    """He et al.'s CIFAR ResNet (arXiv 1512.03385, §4.2): depth 6n+2, three stages of n basic blocks.

    Stem conv3×3 → ``width`` channels; stages of ``width``, 2·``width``, 4·``width`` channels (the
    2nd and 3rd start with stride 2); shortcuts option A (``pad``: subsample, zero-pad the new
    channels) or B (``conv``); global average pool; Linear head. ``depth=20, width=16`` is resnet-20
    (0.27M parameters). Convs have no bias unless ``bias=True``. See the module docstring for
    ``norm``, ``fixup``, ``branch_gain`` and ``shortcut`` (and option A's dead channels).
    """
    n = _check_depth(depth)
    spec = _Spec(norm, activation, bias, fixup, branch_gain)
    layers: OrderedDict[str, nn.Module] = OrderedDict(stem=spec.stem(input_shape[0], width))
    cin = width
    for stage, cout in enumerate((width, 2 * width, 4 * width), start=1):
        blocks = []
        for i in range(n):
            stride = 2 if stage > 1 and i == 0 else 1
            convs = [spec.conv(cin, cout, 3, stride), spec.conv(cout, cout, 3)]
            blocks.append(spec.block(convs, spec.shortcut(cin, cout, stride, shortcut)))
            cin = cout
        layers[f"layer{stage}"] = nn.Sequential(*blocks)
    layers["head"] = spec.head(cin, num_classes)
    return nn.Sequential(layers)


@MODELS.register("resnet50-cifar", family="resnet")
def resnet50_cifar(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    width: Annotated[int, Field(gt=0)] = 64,
    norm: Norm = "batch",
    fixup: bool = False,
    branch_gain: bool = False,
    activation: Activation = "elu",
    bias: bool = True,
) -> nn.Sequential:
    """The seed study's CIFAR ResNet-50: kuangliu/pytorch-cifar's layout with ELU and conv biases.

    3×3 stem conv → ``width`` channels (BN, act), then bottleneck stages [3, 4, 6, 3] of ``width``·
    (1, 2, 4, 8) planes (expansion 4; the 2nd–4th stages start with stride 2), each block
    ``conv1×1 [bn] act conv3×3 [bn] act conv1×1 [bn]`` plus a 1×1-conv [+ bn] projection shortcut when
    the shape changes, act after the sum; global average pool; Linear head (2048 → classes at width 64).
    The seed code (c-schicho/ZeroInitializationSymmetry ``models/resnet50.py``) defines ``bn1`` in its
    bottleneck but never calls it; here every conv has its BN (kuangliu's layout). Under ``fixup=True``
    the projection shortcut is a bare 1×1 conv taking ``x + b1a``, as in Fixup's ImageNet reference.
    """
    spec = _Spec(norm, activation, bias, fixup, branch_gain)
    layers: OrderedDict[str, nn.Module] = OrderedDict(stem=spec.stem(input_shape[0], width))
    cin = width
    for stage, count in enumerate((3, 4, 6, 3), start=1):
        planes = width * 2 ** (stage - 1)
        cout = 4 * planes
        blocks = []
        for i in range(count):
            stride = 2 if stage > 1 and i == 0 else 1
            convs = [
                spec.conv(cin, planes, 1),
                spec.conv(planes, planes, 3, stride),
                spec.conv(planes, cout, 1),
            ]
            blocks.append(spec.block(convs, spec.shortcut(cin, cout, stride, "conv")))
            cin = cout
        layers[f"layer{stage}"] = nn.Sequential(*blocks)
    layers["head"] = spec.head(cin, num_classes)
    return nn.Sequential(layers)
