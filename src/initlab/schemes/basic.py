"""The schemes every course starts with: PyTorch's default and all zeros."""

from __future__ import annotations

import math

import torch
from torch import nn

from initlab.models.roles import WEIGHT_LAYER_TYPES
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.sampling import fork_seed, uniform_


def post_order(model: nn.Module) -> list[nn.Module]:
    """Modules with children before their parents: the order in which constructors initialise them."""
    ordered: list[nn.Module] = []

    def visit(module: nn.Module) -> None:
        for child in module.children():
            visit(child)
        ordered.append(module)

    visit(model)
    return ordered


def fan_in(weight: torch.Tensor) -> int:
    """Inputs per output unit, as torch.nn.init computes it (in_features, or in_channels/groups·k·k)."""
    return nn.init._calculate_fan_in_and_fan_out(weight)[0]


@register_scheme(
    "pytorch-default",
    family="classic",
    paper=Paper("Paszke et al.", 2019, "PyTorch (nn.Linear/nn.ConvNd reset_parameters)", arxiv="1912.01703"),
)
def pytorch_default(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """PyTorch's own default init, redrawn with the run's generator.

    Linear and ConvNd: ``kaiming_uniform_(W, a=√5)``, i.e. W ~ U(−1/√fan_in, 1/√fan_in),
    Var(W) = 1/(3·fan_in); bias ~ U(−1/√fan_in, 1/√fan_in). Every other module with its own
    ``reset_parameters`` (norm layers, embeddings, attention) runs it with a seed drawn from the
    generator. Children are reset before their parents, as their constructors run.
    """
    for module in post_order(model):
        if isinstance(module, WEIGHT_LAYER_TYPES):
            bound = 1.0 / math.sqrt(fan_in(module.weight))
            uniform_(module.weight, -bound, bound, generator)
            if module.bias is not None:
                uniform_(module.bias, -bound, bound, generator)
        elif callable(getattr(module, "reset_parameters", None)):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(fork_seed(generator))
                module.reset_parameters()
    return model


@register_scheme("zeros", family="classic", paper=None)
def zeros(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """Every weight and bias of every Linear and Conv layer is 0 (norm layers keep γ = 1, β = 0).

    The textbook pitfall: all units of a layer compute the same function and, with equal outgoing
    weights, receive the same gradient forever.
    """
    for module in model.modules():
        if isinstance(module, WEIGHT_LAYER_TYPES):
            nn.init.zeros_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model
