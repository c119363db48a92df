"""PyTorch's own transformer inits: cloned layers, and ``nn.Transformer``'s Xavier re-init.

``nn.TransformerEncoder(layer, N)`` and ``nn.TransformerDecoder(layer, N)`` deep-copy one layer N times
(``_get_clones``), so all N layers start identical (PyTorch issues 72253, 86274, 120396; PR 146882
documents it). ``nn.Transformer`` then runs ``_reset_parameters``: ``xavier_uniform_`` on every
parameter with more than one dimension, which redraws the matrices layer by layer (the packed
(3E × E) ``in_proj_weight`` as one matrix, fan_out 3E: std 1/√(2E), 1/√2 of a separate E × E
matrix's, issue 166378) but leaves the biases and LayerNorms the copies they were.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from initlab.errors import SchemeError
from initlab.schemes.classic import PYTORCH, pytorch_default
from initlab.schemes.registry import register_scheme
from initlab.schemes.rules import xavier_std
from initlab.schemes.sampling import uniform_

STACK_TYPES = (nn.TransformerEncoder, nn.TransformerDecoder)


def cloned_stacks(model: nn.Module, scheme: str) -> list[nn.TransformerEncoder | nn.TransformerDecoder]:
    """Every ``nn.TransformerEncoder`` / ``nn.TransformerDecoder`` of ``model``; refuse a model without."""
    stacks = [m for m in model.modules() if isinstance(m, STACK_TYPES)]
    if not stacks:
        raise SchemeError(
            f"{scheme} initialises the layers of torch's nn.TransformerEncoder / nn.TransformerDecoder, and "
            f"{type(model).__name__} has none (initlab's model: torch-transformer)"
        )
    return stacks


@register_scheme("torch-clones", family="transformer", paper=PYTORCH)
def torch_clones(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """What ``nn.TransformerEncoder(layer, N)`` builds: one layer drawn, every other layer a copy of it.

    PyTorch's default init everywhere (``pytorch-default``: the layer's ``nn.MultiheadAttention``
    Xavier-uniform on the packed q/k/v, zero in_proj and out_proj biases, nn.Linear's U(±1/√fan_in)
    on ``out_proj.weight``, ``linear1``, ``linear2`` and their biases; LayerNorm 1, 0; Embedding
    N(0, 1)); then every layer of each stack gets layer 0's parameters, bitwise, as ``_get_clones``'s
    deep copies have them.
    """
    stacks = cloned_stacks(model, "torch-clones")
    pytorch_default(model, generator=generator)
    for stack in stacks:
        first = stack.layers[0].state_dict()
        for layer in stack.layers[1:]:
            layer.load_state_dict(first)
    return model


@register_scheme("torch-transformer-reset", family="transformer", paper=PYTORCH)
def torch_transformer_reset(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """``nn.Transformer``'s init: the cloned layers (``torch-clones``), then Xavier on every matrix.

    As ``nn.Transformer._reset_parameters``: every parameter of each stack with ``dim() > 1`` gets
    W ~ U(±√(6/(fan_in + fan_out))), including the packed ``in_proj_weight`` read as one (3E × E)
    matrix: Var = 2/(E + 3E) = 1/(2E). Biases and LayerNorms stay copies of layer 0's (PyTorch's
    too); the embeddings and head, outside ``nn.Transformer``, keep PyTorch's default.
    """
    stacks = cloned_stacks(model, "torch-transformer-reset")
    torch_clones(model, generator=generator)
    for stack in stacks:
        for param in stack.parameters():
            if param.dim() > 1:
                bound = math.sqrt(3.0) * xavier_std(param)
                uniform_(param, -bound, bound, generator)
    return model
