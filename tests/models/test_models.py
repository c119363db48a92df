"""Each model's output shape, parameter count and marked head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.errors import ConfigError, UnknownNameError
from initlab.models import MODELS, build_model, find_head, weight_layers

# (name, input shape, params, exact parameter count)
CASES = [
    ("mnist-fnn", (1, 28, 28), {}, 784 * 500 + 500 + 500 * 10 + 10),
    ("mnist-cnn", (1, 28, 28), {}, (16 * 25 + 16) + (32 * 16 * 25 + 32) + (25088 * 10 + 10)),
    ("cifar-fnn", (3, 32, 32), {}, 3072 * 512 + 512 + 512 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10),
    (
        "cifar-cnn",
        (3, 32, 32),
        {},
        sum(
            cin * cout * 9 + cout
            for cin, cout in [(3, 32), (32, 64), (64, 128), (128, 128), (128, 256), (256, 256)]
        )
        + 2 * (64 + 128 + 256)
        + 4096 * 1024
        + 1024
        + 1024 * 512
        + 512
        + 512 * 10
        + 10,
    ),
    (
        "cifar-cnn",  # on Fashion-MNIST: one input channel, 28 → 14 → 7 → 3 after the pools
        (1, 28, 28),
        {},
        sum(
            cin * cout * 9 + cout
            for cin, cout in [(1, 32), (32, 64), (64, 128), (128, 128), (128, 256), (256, 256)]
        )
        + 2 * (64 + 128 + 256)
        + 2304 * 1024
        + 1024
        + 1024 * 512
        + 512
        + 512 * 10
        + 10,
    ),
    ("logistic", (1, 28, 28), {}, 784 * 10 + 10),
    ("mlp", (1, 8, 8), {"depth": 4, "width": 32}, 64 * 32 + 32 + 2 * (32 * 32 + 32) + 32 * 10 + 10),
    ("mlp", (1, 28, 28), {"widths": [500, 300]}, 784 * 500 + 500 + 500 * 300 + 300 + 300 * 10 + 10),
]


@pytest.mark.parametrize(("name", "shape", "params", "count"), CASES)
def test_output_shape_and_parameter_count(
    name: str, shape: tuple[int, ...], params: dict, count: int
) -> None:
    model = build_model(name, input_shape=shape, num_classes=10, **params)
    assert sum(p.numel() for p in model.parameters()) == count
    model.eval()
    assert model(torch.rand(3, *shape)).shape == (3, 10)


@pytest.mark.parametrize("name", MODELS.names())
def test_head_is_marked_and_is_the_last_weight_layer(name: str) -> None:
    shape = (3, 32, 32) if name.startswith("cifar") else (1, 28, 28)
    model = build_model(name, input_shape=shape)
    head = find_head(model)
    if getattr(model, "initlab_task", None) == "denoise":  # the output conv predicts the image's noise
        assert isinstance(head, nn.Conv2d) and head.out_channels == shape[0]
    else:
        assert isinstance(head, nn.Linear) and head.out_features == 10
    assert list(weight_layers(model))[-1][1] is head


def test_seed_cnn_layout_matches_the_study() -> None:
    model = build_model("cifar-cnn", input_shape=(3, 32, 32))
    kinds = [type(m).__name__ for m in model]
    stage = ["Conv2d", "ELU", "Conv2d", "ELU", "MaxPool2d", "BatchNorm2d"]
    assert kinds[:18] == stage * 3
    assert kinds[18:] == ["Flatten", "Linear", "ELU", "Linear", "ELU", "Linear"]


def test_activation_is_a_parameter() -> None:
    model = build_model("mnist-fnn", activation="tanh")
    assert isinstance(model.act1, nn.Tanh)


def test_mlp_depth_counts_weight_layers() -> None:
    model = build_model("mlp", depth=20, width=16)
    assert len(list(weight_layers(model))) == 20


def test_bad_model_input_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(UnknownNameError, match=r"allowed: .*mnist-fnn"):
        build_model("mnist-fn")
    with pytest.raises(ConfigError, match="takes inputs of shape"):
        build_model("mnist-fnn", input_shape=(3, 32, 32))
    with pytest.raises(ConfigError, match=r"H, W ≥ 8.*gives \(1, 4, 4\)"):
        build_model("cifar-cnn", input_shape=(1, 4, 4))
    with pytest.raises(ConfigError, match=r"activation='swish'.*'relu'"):
        build_model("mlp", activation="swish")
    with pytest.raises(ConfigError, match="depth=0"):
        build_model("mlp", depth=0)
