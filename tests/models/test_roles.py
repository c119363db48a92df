"""Roles read from Residual blocks and from foreign torchvision-style blocks, and the refusals."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from foreign_models import ForeignNet
from initlab.errors import SchemeError
from initlab.models import (
    Residual,
    branches_removed,
    build_model,
    mark_branch,
    mark_branches,
    mark_roles,
    require_branches,
    require_head,
    residual_branches,
    set_role,
    weights,
)
from initlab.models.branches import layer_index


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


# ---------------------------------------------------------------- marks on foreign models


def test_residual_passes_extra_forward_arguments_to_its_branch() -> None:
    class Conditioned(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor, emb: torch.Tensor, *, scale: float = 1.0) -> torch.Tensor:
            return self.fc(x + emb) * scale

    block = Residual(Conditioned(), gain=0.5)
    x, emb = torch.randn(2, 3), torch.randn(2, 3)
    assert torch.allclose(block(x, emb, scale=2.0), x + 0.5 * 2.0 * block.branch.fc(x + emb))


def test_mark_branches_reads_names_and_layer_indices_and_survives_a_deep_copy() -> None:
    model = nn.Sequential(
        *[nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.LayerNorm(4)) for _ in range(3)]
    )
    assert mark_branches(model, "*", norm="3", stack="encoder") == ["0", "1", "2"]
    branches = residual_branches(model)
    assert [(b.layer, b.stack, len(b.layers)) for b in branches] == [
        (1, "encoder", 2),
        (2, "encoder", 2),
        (3, "encoder", 2),
    ]
    first = branches[0]
    assert first.last is model[0][2] and first.norm_after_last is model[0][3] and first.output is model[0][3]
    twin = copy.deepcopy(model)
    (copied, *_) = residual_branches(twin)
    assert copied.last is twin[0][2] and copied.last is not first.last


def test_a_named_last_layer_ends_the_branch() -> None:
    block = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4))
    mark_branch(block, last="1")
    (branch,) = residual_branches(block)
    assert branch.last is block[1] and branch.layers == (block[0], block[2], block[1])


def test_marks_take_precedence_and_turn_off_the_foreign_block_guess() -> None:
    model = ForeignNet()
    mark_branch(model.layer1[0], output="bn2", norm="bn2")
    (only,) = residual_branches(model)  # the unmarked torchvision blocks are no longer guessed
    assert only.name == "layer1.0" and only.layers == (model.layer1[0].conv1, model.layer1[0].conv2)


def test_marking_errors_name_what_is_missing() -> None:
    with pytest.raises(
        SchemeError, match=r"no module of Sequential is named like 'h\.\*\.attn' .* start 0, 1"
    ):
        mark_branches(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), "h.*.attn")
    with pytest.raises(SchemeError, match=r"Linear has no submodule 'c_proj' for last"):
        mark_branch(nn.Linear(2, 2), last="c_proj")
    with pytest.raises(SchemeError, match=r"ReLU has no weight layer; pass layers="):
        mark_branch(nn.ReLU())
    with pytest.raises(SchemeError, match=r"unknown role 'kv'; allowed: head, embedding"):
        mark_roles(nn.Sequential(nn.Linear(2, 2)), {"0": "kv"})
    assert layer_index("encoder.layer.3.attention") == 4 and layer_index("attn") is None


def test_weights_reads_packed_and_transposed_matrices_as_out_by_in_views() -> None:
    attention = nn.MultiheadAttention(8, 2)
    parts = weights(attention)
    assert [(w.name, w.role, tuple(w.tensor.shape), w.packed) for w in parts[:3]] == [
        ("in_proj_weight[q]", "query", (8, 8), True),
        ("in_proj_weight[k]", "key", (8, 8), True),
        ("in_proj_weight[v]", "value", (8, 8), True),
    ]
    assert parts[3].role == "attn-out"  # out_proj, found without a mark
    with torch.no_grad():  # as schemes run
        parts[2].tensor.fill_(3.0)
        parts[2].bias.fill_(1.0)
    assert torch.all(attention.in_proj_weight[16:] == 3.0) and torch.all(attention.in_proj_weight[:16] != 3.0)
    assert torch.all(attention.in_proj_bias[16:] == 1.0) and torch.all(attention.in_proj_bias[:16] == 0.0)
    fused = set_role(nn.Linear(4, 12), "qkv")
    assert [tuple(w.tensor.shape) for w in weights(fused)] == [(4, 4)] * 3
