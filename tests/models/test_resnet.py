"""The CIFAR ResNets: exact parameter counts, Fixup's structure, and the options each scheme needs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.errors import ConfigError
from initlab.models import (
    PadShortcut,
    Residual,
    ScalarBias,
    ScalarMultiplier,
    build_model,
    find_head,
    residual_branches,
)


def conv_weights(channels: list[tuple[int, int, int]]) -> int:
    return sum(cin * cout * k * k for cin, cout, k in channels)


def resnet_cifar_convs(n: int, width: int = 16, cin: int = 3) -> list[tuple[int, int, int]]:
    convs = [(cin, width, 3)]
    c = width
    for cout in (width, 2 * width, 4 * width):
        for _ in range(n):
            convs += [(c, cout, 3), (cout, cout, 3)]
            c = cout
    return convs


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_resnet_cifar_parameter_counts_match_he_et_al(depth: int) -> None:
    n = (depth - 2) // 6
    convs = resnet_cifar_convs(n)
    bn = 2 * sum(cout for _, cout, _ in convs)
    fc = 64 * 10 + 10
    model = build_model("resnet-cifar", input_shape=(3, 32, 32), depth=depth)
    assert sum(p.numel() for p in model.parameters()) == conv_weights(convs) + bn + fc
    fixup = build_model("resnet-cifar", input_shape=(3, 32, 32), depth=depth, norm="none", fixup=True)
    scalars = 5 * 3 * n + 2  # bias1a, bias1b, bias2a, scale, bias2b per block; stem and head biases
    assert sum(p.numel() for p in fixup.parameters()) == conv_weights(convs) + fc + scalars
    assert len(residual_branches(model)) == 3 * n


def test_option_b_shortcuts_are_strided_1x1_convs() -> None:
    model = build_model("resnet-cifar", input_shape=(3, 32, 32), depth=20, shortcut="conv")
    projection = model.layer2[0].shortcut
    assert [type(m) for m in projection] == [nn.Conv2d, nn.BatchNorm2d] and projection[0].stride == (2, 2)
    extra = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)  # two 1×1 convs with their BNs
    assert sum(p.numel() for p in model.parameters()) == 269_722 + extra
    fixup = build_model(
        "resnet-cifar", input_shape=(3, 32, 32), depth=20, norm="none", fixup=True, shortcut="conv"
    )
    assert fixup.layer2[0].shortcut[0] is fixup.layer2[0].branch.bias1a


def test_resnet20_is_the_published_size() -> None:
    model = build_model("resnet-cifar", input_shape=(3, 32, 32), depth=20)
    assert sum(p.numel() for p in model.parameters()) == 269_722  # "0.27M" in He et al. 2016, Table 6
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_fixup_block_is_the_reference_structure() -> None:
    model = build_model("resnet-cifar", input_shape=(3, 32, 32), depth=20, norm="none", fixup=True)
    block = model.layer2[0]
    kinds = [type(m).__name__ for m in block.branch]
    assert kinds == [
        "ScalarBias", "Conv2d", "ScalarBias", "ReLU", "ScalarBias", "Conv2d", "ScalarMultiplier", "ScalarBias"
    ]  # fmt: skip
    assert block.branch.conv1.bias is None and block.branch.conv1.stride == (2, 2)
    # the downsampling shortcut takes x + bias1a: the very same module as the branch's first bias
    assert block.shortcut[0] is block.branch.bias1a and isinstance(block.shortcut[1], PadShortcut)
    assert isinstance(model.layer1[1].shortcut, nn.Identity)
    assert [type(m) for m in model.stem] == [nn.Conv2d, ScalarBias, nn.ReLU]
    assert [type(m) for m in model.head] == [nn.AdaptiveAvgPool2d, nn.Flatten, ScalarBias, nn.Linear]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_shared_scalar_bias_is_one_parameter() -> None:
    model = build_model("resnet-cifar", input_shape=(3, 32, 32), depth=8, norm="none", fixup=True)
    names = [n for n, _ in model.named_parameters()]
    assert "layer2.0.branch.bias1a.bias" in names and not any(
        n.startswith("layer2.0.shortcut") for n in names
    )


def test_option_a_shortcut_subsamples_and_pads_with_zeros() -> None:
    x = torch.randn(2, 4, 6, 6)
    y = PadShortcut(2, 4)(x)
    assert y.shape == (2, 8, 3, 3)
    assert torch.equal(y[:, :4], x[:, :, ::2, ::2]) and torch.count_nonzero(y[:, 4:]) == 0


def test_resnet50_cifar_is_kuangliu_layout_with_elu_and_conv_biases() -> None:
    model = build_model("resnet50-cifar", input_shape=(3, 32, 32))
    blocks = [m for m in model.modules() if isinstance(m, Residual)]
    assert len(blocks) == 16 and [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert model.stem.conv.kernel_size == (3, 3) and model.stem.conv.bias is not None
    assert isinstance(model.stem.act, nn.ELU) and isinstance(blocks[0].post, nn.ELU)
    first = blocks[0]
    assert [c.kernel_size for c in (first.branch.conv1, first.branch.conv2, first.branch.conv3)] == [
        (1, 1), (3, 3), (1, 1)
    ]  # fmt: skip
    assert isinstance(first.shortcut[0], nn.Conv2d) and isinstance(first.shortcut[1], nn.BatchNorm2d)
    assert find_head(model).in_features == 2048
    # kuangliu's ResNet50: 23,520,842 parameters without conv biases; here every conv has a bias
    conv_biases = sum(m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d))
    assert sum(p.numel() for p in model.parameters()) == 23_520_842 + conv_biases
    assert len(residual_branches(model)) == 16 and all(len(b.layers) == 3 for b in residual_branches(model))


def test_resnet50_fixup_uses_bare_projection_convs() -> None:
    model = build_model("resnet50-cifar", input_shape=(3, 32, 32), width=8, norm="none", fixup=True)
    first = model.layer1[0]
    assert first.shortcut[0] is first.branch.bias1a and isinstance(first.shortcut[1], nn.Conv2d)
    multipliers = [m for m in model.modules() if isinstance(m, ScalarMultiplier)]
    assert len(multipliers) == 16
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_branch_gain_option_puts_a_unit_gain_on_every_branch() -> None:
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none", branch_gain=True)
    gains = [m.gain for m in model.modules() if isinstance(m, Residual)]
    assert len(gains) == 3 and all(g is not None and g.item() == 1.0 for g in gains)


def test_bad_resnet_options_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"depth=21 is not of the form 6n\+2; allowed: 8, 14, 20"):
        build_model("resnet-cifar", depth=21)
    with pytest.raises(ConfigError, match=r"fixup=True .* needs norm='none', not 'batch'"):
        build_model("resnet-cifar", fixup=True)
    with pytest.raises(ConfigError, match=r"norm='layer' is invalid.*'batch' or 'none'"):
        build_model("resnet50-cifar", norm="layer")
