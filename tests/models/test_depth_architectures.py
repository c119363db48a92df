"""NormFormer on initlab's transformer, and PyTorch's own stack (``torch-transformer``) with its two inits."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initlab.auditing import audit
from initlab.errors import ConfigError
from initlab.models import build_model, residual_branches
from initlab.schemes import apply_init
from stats import assert_moments

WIDTH, HEADS, VOCAB, T = 64, 4, 40, 16


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tokens(batch: int = 3) -> torch.Tensor:
    return torch.randint(VOCAB, (batch, T), generator=seeded(1))


def lm(name: str, depth: int = 2, **params: object) -> nn.Module:
    torch.manual_seed(0)
    return build_model(
        name, input_shape=(T,), num_classes=VOCAB, kind="decoder", depth=depth, width=WIDTH, heads=HEADS,
        **params,
    )  # fmt: skip


def assert_causal_lm(model: nn.Module) -> None:
    """Logits B×T×V, and the logits at positions ≤ t do not depend on the tokens after t."""
    model.eval()
    x = tokens()
    y = x.clone()
    y[:, T // 2 :] = (y[:, T // 2 :] + 1) % VOCAB
    with torch.no_grad():
        a, b = model(x), model(y)
    assert a.shape == (3, T, VOCAB)
    assert torch.allclose(a[:, : T // 2], b[:, : T // 2], atol=1e-5)
    assert not torch.allclose(a[:, T // 2 :], b[:, T // 2 :], atol=1e-3)


def test_normformer_adds_head_scales_and_two_layer_norms_per_layer() -> None:
    plain, normformer = lm("transformer", norm="pre"), lm("transformer", norm="pre", normformer=True)
    extra = {n: p.numel() for n, p in normformer.named_parameters()}
    for name in dict(plain.named_parameters()):
        del extra[name]  # every parameter of the pre-LN model keeps its name
    # per layer: head scales, the LN after attention, the LN after fc1's activation (FFN width 4d)
    per_layer = HEADS + 2 * WIDTH + 2 * 4 * WIDTH
    assert sum(extra.values()) == 2 * per_layer
    assert sorted({n.split(".", 2)[2] for n in extra}) == [
        "attn.branch.attn.head_scale",
        "attn.branch.out_norm.bias",
        "attn.branch.out_norm.weight",
        "ffn.branch.ffn.mid_norm.bias",
        "ffn.branch.ffn.mid_norm.weight",
    ]
    assert all(torch.all(layer.attn.branch.attn.head_scale == 1) for layer in normformer.layers)
    assert_causal_lm(normformer)


def test_normformer_scales_each_head_before_the_output_projection() -> None:
    """Head scale 0 on head h is the same function as zeroing W_o's columns that read head h."""
    model = lm("transformer", norm="pre", normformer=True)
    model.eval()
    x = tokens()
    attention = model.layers[0].attn.branch.attn
    with torch.no_grad():
        attention.head_scale[1] = 0.0
        scaled = model(x)
        attention.head_scale[1] = 1.0
        size = WIDTH // HEADS
        attention.out.weight[:, size : 2 * size] = 0.0
        zeroed = model(x)
    assert torch.allclose(scaled, zeroed, atol=1e-5)


def test_normformer_needs_pre_ln() -> None:
    with pytest.raises(ConfigError, match=r"normformer=True .* norm='pre', not norm='post'"):
        lm("transformer", norm="post", normformer=True)


def layer_params(model: nn.Module) -> list[list[torch.Tensor]]:
    return [[p.detach().clone() for p in layer.parameters()] for layer in model.encoder.layers]


def all_equal(params: list[list[torch.Tensor]], index: int) -> bool:
    return all(torch.equal(layer[index], params[0][index]) for layer in params[1:])


@pytest.mark.parametrize("norm_first", [True, False])
def test_torch_transformer_is_a_causal_lm_whose_layers_start_as_copies(norm_first: bool) -> None:
    model = lm("torch-transformer", depth=4, norm_first=norm_first)
    assert_causal_lm(model)
    built = layer_params(model)
    assert all(all_equal(built, i) for i in range(len(built[0])))  # nn.TransformerEncoder's deep copies
    apply_init(model, "torch-clones", seeded())
    drawn = layer_params(model)
    assert all(all_equal(drawn, i) for i in range(len(drawn[0])))
    assert not torch.equal(drawn[0][0], built[0][0])  # redrawn from the run's generator
    branches = residual_branches(model)
    assert [(b.layer, b.stack) for b in branches] == [(i, "decoder") for i in range(1, 5) for _ in range(2)]
    assert all((b.post is None) == norm_first for b in branches)
    findings = [f for f in audit(model).findings if f.kind == "copies"]
    assert any(f.where == "encoder.layers" for f in findings)
    apply_init(model, "pytorch-default", seeded())  # a run's default init redraws each module on its own
    layers = model.encoder.layers
    assert not torch.equal(layers[0].self_attn.in_proj_weight, layers[1].self_attn.in_proj_weight)


def test_nn_transformer_reset_redraws_every_matrix_and_leaves_the_biases_copies() -> None:
    model = apply_init(lm("torch-transformer", depth=4), "torch-transformer-reset", seeded())
    names = [n for n, _ in model.encoder.layers[0].named_parameters()]
    params = layer_params(model)
    for i, name in enumerate(names):
        matrix = params[0][i].dim() > 1
        assert all_equal(params, i) != matrix, name  # matrices differ per layer; biases, LN stay copies
    in_proj = torch.cat([layer.self_attn.in_proj_weight.flatten() for layer in model.encoder.layers])
    e = WIDTH  # Xavier on the packed (3E × E) matrix: Var = 2/(E + 3E), bound √(6/(4E))
    assert_moments(in_proj, 0.0, 2 / (e + 3 * e))
    assert in_proj.abs().max() <= math.sqrt(6 / (4 * e))
    linear1 = torch.cat([layer.linear1.weight.flatten() for layer in model.encoder.layers])
    assert_moments(linear1, 0.0, 2 / (WIDTH + 4 * WIDTH))
    assert not [f for f in audit(model).findings if f.kind == "copies" and f.where == "encoder.layers"]


def test_torch_transformer_encoder_classifies_image_rows() -> None:
    model = build_model("torch-transformer", input_shape=(1, 8, 8), num_classes=10, kind="encoder", width=32)
    apply_init(model, "torch-transformer-reset", seeded())
    assert model(torch.rand(5, 1, 8, 8)).shape == (5, 10)
    with pytest.raises(ConfigError, match=r"input_shape must be \(context length,\)"):
        build_model("torch-transformer", input_shape=(1, 8, 8), num_classes=10, kind="decoder")
