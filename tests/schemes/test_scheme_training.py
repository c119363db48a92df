"""Every scheme on real data: units stay distinct after 5 SGD steps, and a short run beats chance.

Each scheme runs on a model that has the structure it needs (see ``CASES``), on scikit-learn's digits.
The accuracies are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.models import build_model, find_head, weight_layers
from initlab.schemes import SCHEMES, apply_init
from initlab.train import Splits, load_splits, train

MLP = ("mlp", {"widths": [64, 32], "activation": "elu"})
# ResNets with option-B shortcuts and ELU. With option A, a zero branch end leaves the appended channels
# dead (ReLU) or alike (Fixup's shared scalar bias); test_residual_schemes.py shows it. With ReLU, a channel
# whose input is negative on every image of the first steps gets no gradient and stays 0 like another.
# Both are failures of their own, not the symmetry this test is about.
RESNET = ("resnet-cifar", {"depth": 8, "width": 8, "norm": "none", "shortcut": "conv", "activation": "elu"})
RESNET_BN = ("resnet-cifar", {"depth": 8, "width": 8, "shortcut": "conv", "activation": "elu"})
FIXUP = ("resnet-cifar", {**RESNET[1], "fixup": True})
TORCH_TRANSFORMER = ("torch-transformer", {"kind": "encoder", "depth": 2, "width": 32, "heads": 4})


def transformer(norm: str) -> tuple[str, dict[str, Any]]:
    return "transformer", {"depth": 2, "width": 32, "heads": 4, "norm": norm}


# scheme -> (model, model params, scheme params). The MLP's layers never expand (64 -> 64 -> 32 -> 10), so
# identity/dirac/zero give every unit its own input; on an expanding layer they would leave units alike.
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    name: (*MLP, {}) for name, entry in SCHEMES._entries.items() if entry.meta["family"] == "classic"
}
CASES.update(
    {
        "normal": (*MLP, {"std": 0.1}),
        "zero-weight-random-bias": (*MLP, {}),
        "fixup": (*FIXUP, {}),
        "skipinit": (*RESNET, {}),
        "rezero": (*RESNET, {}),
        "zero-last-norm": (*RESNET_BN, {}),
        "zero-last-layer": (*RESNET, {}),
        "zero-module": (*RESNET, {}),
        "gpt2": (*transformer("pre"), {}),
        "t-fixup": (*transformer("none"), {}),
        "deepnorm": (*transformer("post"), {}),
        "ds-init": (*transformer("pre"), {}),
        "pytorch-transformer": (*transformer("post"), {}),
        "admin": (*transformer("post"), {}),
        "torch-clones": (*TORCH_TRANSFORMER, {}),
        "torch-transformer-reset": (*TORCH_TRANSFORMER, {}),
        "zero": (*MLP, {}),
        "lsuv": (*MLP, {}),
        "compose": (*MLP, {"body": "he-normal", "head": "zeros"}),
    }
)
SYMMETRIC = {"zeros", "constant"}  # every unit of a layer computes the same function, by design
SLOW_STARTERS = {"zero-weight-random-bias": 12}  # epochs: its layers start moving one per step, head first


def test_every_scheme_has_a_case() -> None:
    assert set(CASES) == set(SCHEMES.names())


@pytest.fixture(scope="module")
def digits() -> Splits:
    return load_splits(RunConfig(dataset="digits"))


def hidden_layers(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    head = find_head(model)
    return [
        (name, layer.weight.detach().flatten(1)) for name, layer in weight_layers(model) if layer is not head
    ]


@pytest.mark.slow
@pytest.mark.parametrize("scheme", sorted(CASES))
def test_no_two_hidden_units_are_identical_after_5_sgd_steps(scheme: str, digits: Splits) -> None:
    model_name, model_params, params = CASES[scheme]
    model = build_model(model_name, input_shape=(1, 8, 8), **model_params)
    generator = torch.Generator().manual_seed(0)
    x, y = digits.train.x, digits.train.y
    data = {"data": x[:128]} if scheme == "lsuv" else {}
    apply_init(model, scheme, generator, **params, **data)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(5):
        batch = slice(64 * step, 64 * (step + 1))
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    for name, weight in hidden_layers(model):
        distinct = torch.unique(weight, dim=0).shape[0]
        if scheme in SYMMETRIC:
            assert distinct == 1, f"{name}: {distinct} distinct units; the symmetry should persist"
        else:
            assert distinct == weight.shape[0], f"{name}: only {distinct} of {weight.shape[0]} units distinct"


@pytest.mark.slow
@pytest.mark.parametrize("scheme", sorted(CASES))
def test_every_scheme_trains_on_digits(scheme: str, digits: Splits) -> None:
    model_name, model_params, params = CASES[scheme]
    config = RunConfig(
        dataset="digits",
        model=model_name,
        model_params=model_params,
        init=scheme,
        init_params=params,
        optimizer="adam",
        lr=3e-3,
        batch_size=32,
        epochs=SLOW_STARTERS.get(scheme, 5),
        seed=0,
        device="cpu",
    )
    result = train(config, splits=digits)
    accuracy = result.test_accuracy
    print(f"{scheme:<26} {model_name:<14} test accuracy {accuracy:.3f}")
    assert result.status == "finished"
    if scheme == "zeros":
        assert accuracy < 0.2  # every hidden unit stays 0: the head alone sees nothing
    elif scheme not in SYMMETRIC:
        assert accuracy > 0.5, f"{scheme}: {accuracy:.3f} is not clearly above chance (0.1)"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scheme", "norm"), [("gpt2", "pre"), ("t-fixup", "none"), ("deepnorm", "post"), ("ds-init", "pre")]
)
def test_the_decoder_learns_digit_pixels_as_tokens(scheme: str, norm: str) -> None:
    """A causal LM on real data: digits' 64 pixel values (0..16) as a 17-token sequence per image.

    After 60 Adam steps its next-pixel cross-entropy on the test images beats the unigram entropy of
    the pixel values (what a model that ignores the context can reach) by a margin.
    """
    train_tokens = (load_dataset("digits", "train").x.flatten(1) * 16).round().long()
    test_tokens = (load_dataset("digits", "test").x.flatten(1) * 16).round().long()
    counts = torch.bincount(train_tokens.flatten(), minlength=17).double()
    p = counts / counts.sum()
    unigram = -(p[p > 0] * p[p > 0].log()).sum().item()
    torch.manual_seed(0)
    model = build_model(
        "transformer",
        input_shape=(63,),
        num_classes=17,
        kind="decoder",
        norm=norm,
        depth=2,
        width=32,
        heads=4,
    )
    apply_init(model, scheme, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    shuffle = torch.Generator().manual_seed(1)
    for _ in range(60):
        batch = train_tokens[torch.randint(len(train_tokens), (32,), generator=shuffle)]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        test_loss = F.cross_entropy(
            model(test_tokens[:, :-1]).flatten(0, 1), test_tokens[:, 1:].flatten()
        ).item()
    print(f"decoder {scheme:<10} next-pixel loss {test_loss:.3f} nats (unigram entropy {unigram:.3f})")
    assert test_loss < unigram - 0.3
