"""Deep-transformer schemes against the numbers the papers and reference code give, written out here.

DeepNorm (Wang et al. 2022, Table 1; microsoft/torchscale), Admin (Liu et al. 2020; admin-torch's
``calculate_init`` and Transformer-Clinic's profiling), ReZero with one α per layer (majumderb/rezero
``rztx.py``) and DS-Init's two variants (the paper and bzhangGo/zero).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from initlab.errors import SchemeError
from initlab.models import Residual, build_model, role_of
from initlab.schemes import apply_init
from initlab.schemes.transformer import deepnorm_constants
from stats import assert_moments

WIDTH, VOCAB, T = 64, 40, 32


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def decoder(depth: int, norm: str, **params: object) -> nn.Module:
    return build_model(
        "transformer", input_shape=(T,), num_classes=VOCAB, kind="decoder", norm=norm, depth=depth,
        width=WIDTH, heads=4, **params,
    )  # fmt: skip


def blocks(model: nn.Module) -> list[Residual]:
    return [m for m in model.modules() if isinstance(m, Residual)]


def pooled(model: nn.Module, roles: tuple[str, ...], std: float) -> torch.Tensor:
    """The weights of the layers with ``roles`` over the std each should have (std × its Xavier std)."""
    layers = [m for m in model.modules() if role_of(m) in roles]
    return torch.cat([(m.weight / (std * math.sqrt(2 / sum(m.weight.shape)))).flatten() for m in layers])


def tokens(batch: int = 8) -> torch.Tensor:
    return torch.randint(VOCAB, (batch, T), generator=seeded(1))


# DeepNorm: α = (2M)^(1/4), β = (8M)^(-1/4) for M = 6 decoder layers, typed from the paper.
DECODER_M6 = (1.8612097, 0.3799178)


def test_deepnorm_decoder_only_m6_sets_the_papers_alpha_and_beta_on_v_out_fc1_fc2_only() -> None:
    model = apply_init(decoder(6, "post"), "deepnorm", seeded())
    alpha, beta = DECODER_M6
    assert all(b.skip_scale == pytest.approx(alpha, abs=1e-6) for b in blocks(model))
    assert_moments(pooled(model, ("value", "attn-out", "ffn-in", "ffn-out"), beta), 0.0, 1.0)
    assert_moments(pooled(model, ("query", "key"), 1.0), 0.0, 1.0)  # torchscale: q_proj, k_proj unscaled


def test_deepnorm_constants_are_the_papers_numbers() -> None:
    assert deepnorm_constants(6, 0)["encoder"].alpha == pytest.approx(DECODER_M6[0], abs=1e-6)
    assert deepnorm_constants(6, 0)["encoder"].beta == pytest.approx(DECODER_M6[1], abs=1e-6)
    both = deepnorm_constants(6, 6)  # N = M = 6: (N⁴M)^(1/16) = 7776^(1/16) = 1.75054
    assert both["encoder"].alpha == pytest.approx(1.4179381, abs=1e-6)  # 0.81 · 1.75054
    # β: 0.87/1.75054 (torchscale's 1.15/1.75054 would be 0.6569)
    assert both["encoder"].beta == pytest.approx(0.4969892, abs=1e-6)
    assert both["decoder"].alpha == pytest.approx(2.0597671, abs=1e-6)  # (3M)^(1/4) = 18^(1/4)
    assert both["decoder"].beta == pytest.approx(0.3432945, abs=1e-6)  # (12M)^(-1/4) = 72^(-1/4)


# Admin with N = 12 residual sublayers (6 layers): ω² = 13/ln 13 − 1 = 4.06832 (O(log N)), ω² = 12 (O(1)).
@pytest.mark.parametrize(("omega", "expected"), [("n", 1.0), ("log", 2.0170092), ("1", 3.4641016)])
def test_admin_omega_from_depth_matches_admin_torch(omega: str, expected: float) -> None:
    model = apply_init(decoder(6, "post"), "admin", seeded(), omega=omega)
    assert [b.skip_scale for b in blocks(model)] == pytest.approx([expected] * 12, abs=1e-6)
    assert_moments(pooled(model, ("query", "key", "value", "attn-out", "ffn-in", "ffn-out"), 1.0), 0.0, 1.0)
    h = torch.randn(2, T, WIDTH)
    block = blocks(model)[3]
    assert torch.allclose(block(h), block.post(expected * h + block.branch(h)), atol=1e-5)


def test_admin_profile_follows_the_reference_recursion() -> None:
    """ω₁ = 1, ω_{i+1} = √(Var(ω_i·x_i) + Var(F_i(x_i))): recomputed here from a pass with the set ω."""
    x = tokens()
    model = apply_init(decoder(4, "post"), "admin", seeded(), omega="profile", data=x)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    hooks = [
        b.register_forward_hook(lambda m, a, o: seen.append((a[0], m.branch(a[0])))) for b in blocks(model)
    ]
    model.eval()
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    omegas = [b.skip_scale for b in blocks(model)]
    assert omegas[0] == 1.0 and len(omegas) == 8
    for i, (inp, out) in enumerate(seen[:-1]):
        expected = math.sqrt(
            (omegas[i] * inp).double().var(unbiased=False) + out.double().var(unbiased=False)
        )
        assert omegas[i + 1] == pytest.approx(expected, rel=1e-5)
    assert all(later > earlier for earlier, later in itertools.pairwise(omegas))


def test_admin_refuses_pre_ln_and_a_profile_without_data() -> None:
    with pytest.raises(SchemeError, match=r"admin needs post-LN .* norm='post'"):
        apply_init(decoder(2, "pre"), "admin", seeded())
    with pytest.raises(SchemeError, match=r"omega='profile' .* needs one"):
        apply_init(decoder(2, "post"), "admin", seeded(), omega="profile")


def test_rezero_shared_gives_one_zero_alpha_per_layer_whose_gradient_sums_both_sublayers() -> None:
    torch.manual_seed(0)
    shared = apply_init(decoder(3, "none"), "rezero", seeded(), base="pytorch-default", share="layer")
    separate = apply_init(decoder(3, "none"), "rezero", seeded(), base="pytorch-default")
    gains = [p for p in shared.parameters() if p.dim() == 0]
    assert len(gains) == 3 and all(g.item() == 0 for g in gains)
    for layer in shared.layers:
        assert layer.attn.gain is layer.ffn.gain
    separate.load_state_dict(shared.state_dict())  # same weights, six independent zero gains
    x = tokens(4)
    for model in (shared, separate):
        nn.functional.cross_entropy(model(x)[:, :-1].flatten(0, 1), x[:, 1:].flatten()).backward()
    for a, b in zip(shared.layers, separate.layers, strict=True):
        assert a.attn.gain.grad == pytest.approx((b.attn.gain.grad + b.ffn.gain.grad).item(), rel=1e-4)
        assert b.attn.gain.grad.abs() > 0 and b.ffn.gain.grad.abs() > 0


@pytest.mark.parametrize(("variant", "exponent"), [("paper", 0.5), ("code", 0.25)])
def test_ds_init_bound_goes_as_l_to_the_minus_half_or_quarter(variant: str, exponent: float) -> None:
    alpha = 0.8
    model = apply_init(decoder(4, "pre"), "ds-init", seeded(), alpha=alpha, variant=variant)
    for index, layer in enumerate(model.layers, start=1):
        # paper: std = xavier·α·l^(-1/2); code (variance scale α/√l): std = xavier·√α·l^(-1/4)
        scale = (alpha if variant == "paper" else math.sqrt(alpha)) * index**-exponent
        linears = [m for m in layer.modules() if isinstance(m, nn.Linear)]
        z = torch.cat([(m.weight / (scale * math.sqrt(2 / sum(m.weight.shape)))).flatten() for m in linears])
        assert_moments(z, 0.0, 1.0)
        assert z.abs().max() <= math.sqrt(3) + 1e-5
