"""``zero-module`` (improved-diffusion's init) and its variants, as exact facts about the U-Net."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from initlab.errors import SchemeError
from initlab.models import build_model, residual_branches
from initlab.models.unet import AttentionBlock, ResBlock
from initlab.schemes import apply_init
from initlab.schemes.diffusion import feeding_layers, zeroed_layers


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The small U-Net is bound by per-op dispatch: one thread is fastest, and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def unet(init: str = "zero-module", dropout: float = 0.0, **params: object) -> nn.Module:
    model = build_model("unet", input_shape=(1, 8, 8), num_classes=10, model_channels=8, dropout=dropout)
    return apply_init(model, init, torch.Generator().manual_seed(0), **params)


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(16, 1, 8, 8, generator=g),
        torch.randint(1000, (16,), generator=g),
        torch.randn(16, 1, 8, 8, generator=g),
    )


def test_zero_module_blocks_are_identities_and_output_is_zero() -> None:
    model = unet()
    x, t, _ = batch()
    seen: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
    hooks = [
        m.register_forward_hook(lambda m, a, out: seen.append((m, a, out)))
        for m in model.modules()
        if isinstance(m, ResBlock | AttentionBlock)
    ]
    out = model(x, t)
    for h in hooks:
        h.remove()
    assert torch.equal(out, torch.zeros_like(out))
    assert len(seen) == 15
    for block, args, y in seen:
        assert torch.equal(y, block.skip_connection(args[0]) if isinstance(block, ResBlock) else args[0])
    for layer in zeroed_layers(model):
        assert not layer.weight.any() and not layer.bias.any()
    assert all(layer.weight.any() for layer in feeding_layers(model))  # the rest: PyTorch's default


def test_constant_variants_set_the_feeding_layers() -> None:
    model = unet(inner="constant")
    for layer in feeding_layers(model):
        fan_in = layer.weight[0].numel()
        assert torch.equal(layer.weight, torch.full_like(layer.weight, 1 / fan_in))
        assert not layer.bias.any()
    biased = unet(inner="constant-random-bias")
    for layer in feeding_layers(biased):
        bound = layer.weight[0].numel() ** -0.5
        assert layer.bias.abs().max() <= bound and len(layer.bias.unique()) == len(layer.bias)


def hidden_channels(model: nn.Module) -> list[torch.Tensor]:
    """The in_layers conv weight (with its bias) of every ResBlock: one row per hidden channel."""
    return [
        torch.cat([b.layers[0].weight.flatten(1), b.layers[0].bias[:, None]], 1)
        for b in residual_branches(model)
        if isinstance(b.block, ResBlock)
    ]


def train(model: nn.Module, optimizer: str, steps: int) -> None:
    params = model.parameters()
    opt = torch.optim.SGD(params, lr=0.1) if optimizer == "sgd" else torch.optim.Adam(params)
    for step in range(steps):
        x, t, eps = batch(step)
        loss = ((model(x, t) - eps) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_constant_filters_stay_one_group_unless_biases_or_dropout_differ(optimizer: str) -> None:
    constant = unet(inner="constant")
    train(constant, optimizer, 3)
    for rows in hidden_channels(constant):
        assert (rows == rows[:1]).all()  # bitwise: every hidden channel is still a copy of the first
    assert any(rows.abs().sum() > 0 for rows in hidden_channels(constant))
    for split in (unet(inner="constant-random-bias"), unet(inner="constant", dropout=0.3)):
        train(split, optimizer, 3)
        assert all(not (rows == rows[:1]).all() for rows in hidden_channels(split))


def test_two_zero_modules_in_a_row_never_move() -> None:
    model = unet(inner="zero")
    train(model, "adam", 3)
    for branch in residual_branches(model):
        for layer in branch.layers:  # the feeding layers and the zeroed one after them
            assert not layer.weight.any()
    reference = unet()
    train(reference, "adam", 3)
    assert all(branch.last.weight.any() for branch in residual_branches(reference))


def test_a_model_without_branches_is_refused() -> None:
    mlp = build_model("mnist-fnn", input_shape=(1, 28, 28), num_classes=10)
    with pytest.raises(SchemeError, match="residual branches"):
        apply_init(mlp, "zero-module", torch.Generator())
