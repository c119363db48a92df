"""The seed study's scheme on residual networks: every conv is zeroed, branches included."""

from __future__ import annotations

import pytest
import torch

from initlab.errors import SchemeError
from initlab.models import build_model, residual_branches, weight_layers
from initlab.schemes import apply_init


def test_zero_weight_random_bias_covers_every_conv_of_a_resnet() -> None:
    model = build_model("resnet50-cifar", input_shape=(3, 32, 32), width=8)
    apply_init(model, "zero-weight-random-bias", torch.Generator().manual_seed(0))
    layers = [layer for _, layer in weight_layers(model)]
    assert len(layers) == 1 + 16 * 3 + 4 + 1  # stem, 16 bottlenecks, 4 projections, head
    assert all(torch.count_nonzero(layer.weight) == 0 for layer in layers)
    assert all(torch.count_nonzero(layer.bias) == layer.bias.numel() for layer in layers)
    assert all(torch.count_nonzero(b.layers[1].weight) == 0 for b in residual_branches(model))


def test_a_model_with_an_unbiased_layer_is_refused() -> None:
    with pytest.raises(
        SchemeError,
        match=r"7 have none, the first 'stem\.conv\.weight': give each one a bias \(initlab's models: bias",
    ):
        apply_init(build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8), "zero-weight-random-bias")
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, bias=True)
    apply_init(model, "zero-weight-random-bias", torch.Generator().manual_seed(0))
    assert (
        torch.count_nonzero(model.stem.conv.weight) == 0 and torch.count_nonzero(model.stem.conv.bias) == 16
    )
