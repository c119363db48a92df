"""The transformer family: each depth-scaled std equals its formula at two depths; PyTorch's own init."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initlab.errors import SchemeError
from initlab.models import Residual, build_model, residual_branches, role_of
from initlab.schemes import apply_init
from initlab.schemes.transformer import deepnorm_constants, torch_encoder_layer_init
from stats import assert_moments

WIDTH = 64


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def transformer(depth: int, norm: str, kind: str = "encoder") -> nn.Module:
    shape = (1, 8, 8) if kind == "encoder" else (32,)
    classes = 10 if kind == "encoder" else 50
    return build_model(
        "transformer",
        input_shape=shape,
        num_classes=classes,
        kind=kind,
        norm=norm,
        depth=depth,
        width=WIDTH,
        heads=4,
    )


def with_role(model: nn.Module, *roles: str) -> list[nn.Linear]:
    return [m for m in model.modules() if role_of(m) in roles]


def standardized(layers: list[nn.Module], std_of) -> torch.Tensor:
    """Each layer's weights divided by the std the formula gives it, pooled: ~N(0, 1) when right."""
    return torch.cat([(layer.weight / std_of(layer)).flatten() for layer in layers])


def xavier(layer: nn.Module) -> float:
    fan_out, fan_in = layer.weight.shape
    return math.sqrt(2 / (fan_in + fan_out))


@pytest.mark.parametrize("depth", [2, 6])
def test_gpt2_residual_projections_have_std_0_02_over_sqrt_2l(depth: int) -> None:
    model = apply_init(transformer(depth, "pre", "decoder"), "gpt2", seeded())
    last = with_role(model, "attn-out", "ffn-out")
    assert len(last) == len(residual_branches(model)) == 2 * depth
    assert_moments(torch.cat([m.weight.flatten() for m in last]), 0.0, 0.02**2 / (2 * depth))
    others = with_role(model, "query", "key", "value", "ffn-in", "head")
    assert_moments(torch.cat([m.weight.flatten() for m in others]), 0.0, 0.02**2)
    assert_moments(torch.cat([model.embed.weight.flatten(), model.position.weight.flatten()]), 0.0, 0.02**2)
    assert all(torch.count_nonzero(m.bias) == 0 for m in last + others)


@pytest.mark.parametrize("depth", [2, 6])
def test_t_fixup_encoder_scales_match_the_paper(depth: int) -> None:
    model = apply_init(transformer(depth, "none"), "t-fixup", seeded())
    scale = 0.67 * depth**-0.25
    scaled = with_role(model, "value", "attn-out", "ffn-in", "ffn-out")
    assert_moments(standardized(scaled, lambda m: xavier(m) * scale), 0.0, 1.0)
    assert_moments(standardized(with_role(model, "query", "key", "head"), xavier), 0.0, 1.0)
    embed = model.embed.weight  # the Linear embedding image rows: N(0, 1/d)·(9N)^(-1/4)
    assert_moments(embed, 0.0, (WIDTH**-0.5 * (9 * depth) ** -0.25) ** 2, sigmas=8)
    assert_moments(model.position.weight, 0.0, 1 / WIDTH, sigmas=8)


@pytest.mark.parametrize("depth", [2, 6])
def test_t_fixup_decoder_scales_by_9m_to_the_minus_quarter(depth: int) -> None:
    model = apply_init(transformer(depth, "none", "decoder"), "t-fixup", seeded())
    scale = (9 * depth) ** -0.25
    scaled = with_role(model, "value", "attn-out", "ffn-in", "ffn-out")
    assert_moments(standardized(scaled, lambda m: xavier(m) * scale), 0.0, 1.0)
    assert_moments(model.embed.weight, 0.0, (WIDTH**-0.5 * scale) ** 2)


def test_t_fixup_refuses_layer_norm() -> None:
    with pytest.raises(
        SchemeError, match=r"t-fixup .* found 5, the first at 'layers\.0\.attn\.branch\.norm'"
    ):
        apply_init(transformer(2, "pre"), "t-fixup", seeded())


@pytest.mark.parametrize(("depth", "kind"), [(2, "encoder"), (6, "encoder"), (2, "decoder"), (6, "decoder")])
def test_deepnorm_alpha_and_beta_match_the_paper(depth: int, kind: str) -> None:
    model = apply_init(transformer(depth, "post", kind), "deepnorm", seeded())
    alpha, beta = (2 * depth) ** 0.25, (8 * depth) ** -0.25
    blocks = [m for m in model.modules() if isinstance(m, Residual)]
    assert all(b.skip_scale == pytest.approx(alpha) for b in blocks)
    scaled = with_role(model, "value", "attn-out", "ffn-in", "ffn-out")
    assert_moments(standardized(scaled, lambda m: xavier(m) * beta), 0.0, 1.0)
    assert_moments(standardized(with_role(model, "query", "key"), xavier), 0.0, 1.0)
    x = torch.rand(3, 1, 8, 8) if kind == "encoder" else torch.randint(50, (3, 32))
    block = blocks[0]
    h = torch.randn(3, 8 if kind == "encoder" else 32, WIDTH)
    assert torch.allclose(block(h), block.post(alpha * h + block.branch(h)), atol=1e-5)
    assert torch.isfinite(model(x)).all()


def test_deepnorm_constants_for_the_three_architectures() -> None:
    (enc,) = deepnorm_constants(12, 0).values()
    assert (enc.alpha, enc.beta) == (pytest.approx(24**0.25), pytest.approx(96**-0.25))
    (dec,) = deepnorm_constants(0, 12).values()
    assert (dec.alpha, dec.beta) == (pytest.approx(24**0.25), pytest.approx(96**-0.25))
    both = deepnorm_constants(6, 12)
    assert both["encoder"].alpha == pytest.approx(0.81 * (6**4 * 12) ** (1 / 16))
    assert both["encoder"].beta == pytest.approx(
        0.87 * (6**4 * 12) ** (-1 / 16)
    )  # torchscale: 1.15·(…)^(−1/16)
    assert both["decoder"].alpha == pytest.approx(36**0.25) and both["decoder"].beta == pytest.approx(
        144**-0.25
    )


def test_deepnorm_refuses_pre_layer_norm() -> None:
    with pytest.raises(SchemeError, match=r"deepnorm needs post-LN residual blocks.*norm='post'"):
        apply_init(transformer(2, "pre"), "deepnorm", seeded())


def test_ds_init_scales_layer_l_by_alpha_over_sqrt_l() -> None:
    model = apply_init(transformer(4, "pre"), "ds-init", seeded(), alpha=0.8)
    for layer_index, layer in enumerate(model.layers, start=1):
        weights = [m for m in layer.modules() if isinstance(m, nn.Linear)]
        scale = 0.8 / math.sqrt(layer_index)
        z = standardized(weights, lambda m, s=scale: xavier(m) * s)
        assert_moments(z, 0.0, 1.0)
        assert z.abs().max() <= math.sqrt(3) + 1e-5  # uniform: bound = √3·std
    assert_moments(model.head.weight / xavier(model.head), 0.0, 1.0, sigmas=8)


def test_the_report_of_torch_encoder_layer_init_matches_its_rules() -> None:
    rows = torch_encoder_layer_init(width=256, heads=4, ffn=1024)
    assert [r.name for r in rows][:2] == ["self_attn.in_proj_weight", "self_attn.in_proj_bias"]
    for row in rows:
        if row.expected_std == 0:
            assert row.measured_std == 0 and row.measured_mean == row.expected_mean
        elif math.prod(row.shape) >= 10_000:
            n = math.prod(row.shape)
            se = row.expected_std**2 * math.sqrt(0.8 / n)  # uniform: Var(s²) = 0.8σ⁴/n
            assert abs(row.measured_std**2 - row.expected_std**2) <= 6 * se, row


def test_pytorch_transformer_reproduces_nn_transformer_encoder_layer() -> None:
    model = apply_init(transformer(4, "post"), "pytorch-transformer", seeded())
    qkv = with_role(model, "query", "key", "value")
    assert_moments(torch.cat([m.weight.flatten() for m in qkv]), 0.0, 1 / (2 * WIDTH))  # fused Xavier
    assert max(m.weight.abs().max() for m in qkv) <= math.sqrt(6 / (4 * WIDTH))
    out = with_role(model, "attn-out")
    assert_moments(torch.cat([m.weight.flatten() for m in out]), 0.0, 1 / (3 * WIDTH))
    assert all(torch.count_nonzero(m.bias) == 0 for m in qkv + out)
    fc1 = with_role(model, "ffn-in")
    assert_moments(torch.cat([m.bias for m in fc1]), 0.0, 1 / (3 * WIDTH))
    assert all(torch.all(m.post.weight == 1) for m in model.modules() if isinstance(m, Residual))
