"""The diffusion family: improved-diffusion's ``zero_module`` init and the variants that ask why it works.

improved-diffusion (Nichol & Dhariwal 2021, arXiv 2102.09672; openai/improved-diffusion ``unet.py``
and ``nn.py``) builds every layer with PyTorch's default init and wraps three kinds of layer in
``zero_module`` (W = 0, b = 0): the last conv of each ResBlock (``out_layers``), the ``proj_out`` of
each AttentionBlock, and the U-Net's output conv (``out``). DDPM's code (Ho, Jain & Abbeel 2020)
already zeroed its output conv. Every ResBlock and attention block is then the identity and the
model's output is exactly 0.

``zero-module`` reads the places from the model's marks: the last layer of each residual branch
(:func:`initlab.models.branches.residual_branches`) and the head (the output conv). Its ``inner``
param sets the branch's *other* layers, the ones that feed the zeroed layer, to ask where the
symmetry of a zero layer is broken:

- ``default``: PyTorch's default (the reference);
- ``constant``: constant filters, every weight 1/fan_in (identical across output channels) and
  every bias 0, so all the branch's hidden channels start identical (the forum answer's case:
  locality makes the positions differ, not the channels);
- ``constant-random-bias``: the same filters, biases U(±1/√fan_in) as PyTorch draws them;
- ``zero``: W = 0, b = 0, so the zeroed last layer reads an exactly zero input: two zero modules in
  a row (ControlNet's failure case, lllyasviel/ControlNet issue 510).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from initlab.models.branches import require_branches
from initlab.models.roles import require_head
from initlab.models.weights import weights, zero_module
from initlab.schemes.classic import pytorch_default
from initlab.schemes.layerwise import init_bias
from initlab.schemes.registry import Paper, register_scheme

IMPROVED_DIFFUSION = Paper(
    "Nichol & Dhariwal", 2021, "Improved Denoising Diffusion Probabilistic Models", arxiv="2102.09672"
)

Inner = Literal["default", "constant", "constant-random-bias", "zero"]
INNER: tuple[Inner, ...] = ("default", "constant", "constant-random-bias", "zero")


def zeroed_layers(model: nn.Module, scheme: str = "zero-module") -> list[nn.Module]:
    """The layers ``zero_module`` zeroes: each residual branch's last layer, then the head."""
    return [branch.last for branch in require_branches(model, scheme)] + [require_head(model, scheme)]


def feeding_layers(model: nn.Module, scheme: str = "zero-module") -> list[nn.Module]:
    """Every layer of a residual branch but its last: the layers that feed a zeroed layer."""
    return [layer for branch in require_branches(model, scheme) for layer in branch.layers[:-1]]


@register_scheme("zero-module", family="diffusion", paper=IMPROVED_DIFFUSION)
def zero_module_init(model: nn.Module, *, generator: torch.Generator, inner: Inner = "default") -> nn.Module:
    """improved-diffusion's init: PyTorch's default everywhere, then W = 0, b = 0 on each residual
    branch's last layer (ResBlock ``out_layers`` conv, attention ``proj_out``) and on the head (the
    output conv). ``inner`` sets the other layers of each branch (module docstring):

    - ``default``: PyTorch's default, W, b ~ U(±1/√fan_in);
    - ``constant``: W = 1/fan_in everywhere (fan_in = in·k·k), b = 0;
    - ``constant-random-bias``: W = 1/fan_in, b ~ U(±1/√fan_in);
    - ``zero``: W = 0, b = 0.

    A model without residual branches or a head is refused, saying what to mark.
    """
    zeroed, feeding = zeroed_layers(model), feeding_layers(model)
    pytorch_default(model, generator=generator)
    for layer in feeding if inner != "default" else []:
        for weight in weights(layer):
            if inner == "zero":
                weight.tensor.zero_()
            else:
                weight.tensor.fill_(1.0 / math.prod(weight.tensor.shape[1:]))
            policy = "pytorch-default" if inner == "constant-random-bias" else "zeros"
            init_bias(weight.bias, weight.tensor, policy, 0.0, generator)
    for layer in zeroed:
        zero_module(layer)
    return model
