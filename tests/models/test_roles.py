"""Roles read from Residual blocks and from foreign torchvision-style blocks, and the refusals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from foreign_models import ForeignNet
from initlab.errors import SchemeError
from initlab.models import (
    Residual,
    branches_removed,
    build_model,
    require_branches,
    require_head,
    residual_branches,
)


def test_residual_computes_post_of_scaled_shortcut_plus_gained_branch() -> None:
    branch, shortcut = nn.Linear(3, 3), nn.Linear(3, 3)
    block = Residual(branch, shortcut, post=nn.Tanh(), gain=0.5)
    block.skip_scale = 2.0
    x = torch.randn(4, 3)
    assert torch.allclose(block(x), torch.tanh(2.0 * shortcut(x) + 0.5 * branch(x)))
    assert block.gain is not None and block.gain.requires_grad


def test_residual_branches_of_initlab_models() -> None:
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=14)
    branches = residual_branches(model)
    assert len(branches) == 6 and all(len(b.layers) == 2 for b in branches)
    first = branches[0]
    assert first.name == "layer1.0" and first.last is model.layer1[0].branch.conv2
    assert first.norm_after_last is model.layer1[0].branch.bn2 and first.residual is model.layer1[0]
    plain = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=14, norm="none")
    assert all(b.norm_after_last is None for b in residual_branches(plain))


def test_foreign_basic_blocks_and_bottlenecks_are_found() -> None:
    model = ForeignNet()
    branches = residual_branches(model)
    assert [b.name for b in branches] == ["layer1.0", "layer1.1", "layer1.2"]
    assert [len(b.layers) for b in branches] == [2, 2, 3]
    assert branches[0].last is model.layer1[0].conv2 and branches[0].norm_after_last is model.layer1[0].bn2
    assert branches[2].last is model.layer1[2].conv3 and branches[2].norm_after_last is model.layer1[2].bn3
    assert all(b.residual is None for b in branches)
    assert require_head(model, "x") is model.fc  # unmarked: the last weight layer, a Linear


def test_sequentials_with_conv_names_are_not_mistaken_for_blocks() -> None:
    model = build_model("mnist-cnn")  # a Sequential with children conv1, conv2
    assert residual_branches(model) == []
    with pytest.raises(SchemeError, match=r"scheme 'fixup' needs residual branches, and Sequential has none"):
        require_branches(model, "fixup")


def test_a_model_without_a_linear_head_is_refused() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Conv1d(1, 1, 1))
    with pytest.raises(SchemeError, match=r"needs the classifier head.*mark_head"):
        require_head(model, "fixup")


def test_branches_removed_skips_every_branch_then_restores_them() -> None:
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none")
    model.eval()
    x = torch.rand(2, 1, 8, 8)
    full = model(x)
    with branches_removed(model):
        stripped = model(x)
    assert not torch.equal(full, stripped)
    assert torch.equal(model(x), full)
    with (
        pytest.raises(SchemeError, match=r"no initlab\.models\.Residual blocks"),
        branches_removed(ForeignNet()),
    ):
        pass
