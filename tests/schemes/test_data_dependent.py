"""LSUV: every layer's output variance on the batch is 1 ± tol; data is required and checked."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.data import load_dataset
from initlab.errors import ConfigError, SchemeError
from initlab.models import build_model, weight_layers
from initlab.schemes import apply_init
from initlab.schemes.data_dependent import forward_order, layer_output


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return load_dataset("digits", "train").x[:256]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("mlp", {"depth": 12, "width": 64, "activation": "tanh"}),
        ("resnet-cifar", {"depth": 14, "width": 8, "norm": "none"}),
        ("resnet-cifar", {"depth": 8, "width": 8}),
    ],
)
def test_every_layer_output_has_unit_variance_on_the_batch(
    name: str, params: dict, batch: torch.Tensor
) -> None:
    model = build_model(name, input_shape=(1, 8, 8), **params)
    apply_init(model, "lsuv", torch.Generator().manual_seed(0), data=batch, tol=0.05)
    model.eval()
    with torch.no_grad():
        variances = [layer_output(model, layer, batch).var().item() for _, layer in weight_layers(model)]
    assert len(variances) == len(list(weight_layers(model)))
    assert all(abs(v - 1) < 0.05 for v in variances), variances


def test_lsuv_leaves_batch_norm_statistics_and_the_mode_alone(batch: torch.Tensor) -> None:
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, width=8)
    model.train()
    apply_init(model, "lsuv", torch.Generator().manual_seed(0), data=batch)
    assert model.training and torch.count_nonzero(model.stem.bn.running_mean) == 0
    assert int(model.stem.bn.num_batches_tracked) == 0


def test_forward_order_follows_the_calls(batch: torch.Tensor) -> None:
    class Reversed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.second, self.first = nn.Linear(8, 4), nn.Linear(64, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.second(self.first(x.flatten(1)))

    model = Reversed()
    assert [name for name, _ in forward_order(model, batch)] == ["first", "second"]


def test_lsuv_is_reproducible_and_needs_data(batch: torch.Tensor) -> None:
    a = apply_init(
        build_model("mlp", input_shape=(1, 8, 8)), "lsuv", torch.Generator().manual_seed(4), data=batch
    )
    b = apply_init(
        build_model("mlp", input_shape=(1, 8, 8)), "lsuv", torch.Generator().manual_seed(4), data=batch
    )
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(
        SchemeError, match=r"scheme 'lsuv' needs a batch of inputs: apply_init\(model, 'lsuv', data=x\)"
    ):
        apply_init(build_model("mlp"), "lsuv")
    with pytest.raises(ConfigError, match="scheme 'he-normal' does not take data"):
        apply_init(build_model("mlp"), "he-normal", data=batch)


def test_a_layer_with_constant_output_is_refused(batch: torch.Tensor) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.Linear(8, 4))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.zero_()
    with pytest.raises(SchemeError, match=r"lsuv: layer '1' outputs a constant on the data batch"):
        apply_init(model, "lsuv", data=batch, orthogonal=False)


def test_the_training_loop_feeds_lsuv_a_seeded_batch() -> None:
    from initlab.config import RunConfig
    from initlab.train import train

    config = RunConfig(
        dataset="digits", model="mlp", model_params={"widths": [32]}, init="lsuv", epochs=1, seed=5
    )
    first, second = train(config), train(config)
    assert first.status == "finished"
    pairs = zip(first.model.parameters(), second.model.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)  # the same batch, so the same init and run
    assert first.config.init_params == {"tol": 0.1, "max_iter": 10, "orthogonal": True}  # no data in it
