"""Composition: a body scheme with head/last overrides, validated before anything changes."""

from __future__ import annotations

import math

import pytest
import torch

from initlab.data import load_dataset
from initlab.errors import ConfigError, SchemeError
from initlab.models import build_model, find_head, residual_branches
from initlab.schemes import apply_init
from stats import assert_moments


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_body_then_head_override() -> None:
    model = apply_init(build_model("mlp", widths=[2000]), "compose", seeded(), body="he-normal", head="zeros")
    assert torch.count_nonzero(find_head(model).weight) == 0
    assert_moments(model.fc1.weight, 0.0, 2 / 784)
    params = {"body": "xavier-uniform", "head": "he-uniform", "head_params": {"mode": "fan_out"}}
    other = apply_init(build_model("mlp", widths=[4000]), "compose", seeded(), **params)
    assert other.head.weight.abs().max() <= math.sqrt(6 / 10)


def test_last_override_equals_zero_last_layer() -> None:
    composed = apply_init(build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none"), "compose",
                          seeded(3), body="he-normal", last="zeros")  # fmt: skip
    direct = apply_init(
        build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none"), "zero-last-layer", seeded(3)
    )
    assert all(torch.equal(p, q) for p, q in zip(composed.parameters(), direct.parameters(), strict=True))
    assert all(torch.count_nonzero(b.last.weight) == 0 for b in residual_branches(composed))


def test_a_structural_body_and_a_data_dependent_body() -> None:
    fixup = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none", fixup=True)
    apply_init(fixup, "compose", seeded(), body="fixup", head="xavier-uniform")
    assert torch.count_nonzero(find_head(fixup).weight) == 64 * 10
    batch = load_dataset("digits", "train").x[:128]
    model = apply_init(
        build_model("mlp", input_shape=(1, 8, 8)), "compose", seeded(), body="lsuv", head="zeros", data=batch
    )
    assert torch.count_nonzero(model.head.weight) == 0
    with pytest.raises(SchemeError, match="body='lsuv' needs a batch of inputs"):
        apply_init(build_model("mlp"), "compose", seeded(), body="lsuv")


def test_bad_overrides_are_refused_before_anything_changes() -> None:
    model = build_model("mlp", input_shape=(1, 8, 8))
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(
        ConfigError, match=r"head='fixup' must be a layer-wise scheme; allowed: pytorch-default, zeros"
    ):
        apply_init(model, "compose", seeded(), body="he-normal", head="fixup")
    with pytest.raises(
        ConfigError, match=r"scheme 'zeros': unknown parameter|unknown parameter 'std' for scheme 'zeros'"
    ):
        apply_init(model, "compose", seeded(), body="he-normal", head="zeros", head_params={"std": 1.0})
    with pytest.raises(SchemeError, match="scheme 'compose' needs residual branches"):
        apply_init(model, "compose", seeded(), last="zeros")
    with pytest.raises(ConfigError, match="body='compose' is not allowed"):
        apply_init(model, "compose", seeded(), body="compose")
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
