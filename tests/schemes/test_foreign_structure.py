"""Structural schemes on real third-party models: applied with their formula checked, or refused.

Hugging Face GPT-2 and BERT (small configs, no weights downloaded), ``nn.TransformerEncoder``,
``nn.Transformer``, a U-Net of improved-diffusion ResBlocks with a timestep embedding and a
torchvision-style ResNet, each marked with ``mark_branches`` / ``mark_roles`` (``foreign_models``).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from foreign_models import (
    ForeignNet,
    hf_bert,
    hf_gpt2,
    mark_bert,
    mark_gpt2,
    marked_torch_encoder,
    marked_torch_transformer,
    marked_unet,
)
from initlab.errors import SchemeError
from initlab.models import build_model, residual_branches, weights
from initlab.models.branches import require_layer_marks
from initlab.models.weights import weights_of
from initlab.schemes import apply_init
from initlab.schemes.transformer import deepnorm_constants
from stats import assert_moments

pytest.importorskip("transformers")

MODELS = {
    "hf-gpt2": lambda: mark_gpt2(hf_gpt2()),
    "hf-bert": lambda: mark_bert(hf_bert()),
    "torch-encoder": marked_torch_encoder,
    "torch-transformer": marked_torch_transformer,
    "diffusion-unet": marked_unet,
}
# What each structural scheme does on each model: "applies", or the refusal's words (naming what to mark).
NORMS = r"refuses a model with normalization layers: found \d+, the first at"
LAYER_MARKS = (
    r"needs the transformer layer and stack of each residual branch; branch 'blocks\.0' .*mark_branch"
)
NO_ZERO_GAMMA = r"needs a normalization layer after the last layer .* mark it with mark_branch\(module, norm="
OUTCOMES = {
    "fixup": dict.fromkeys(MODELS, NORMS),
    "t-fixup": dict.fromkeys(MODELS, NORMS),
    "zero-last-norm": dict.fromkeys(MODELS, NO_ZERO_GAMMA),
    "skipinit": dict.fromkeys(MODELS, "applies"),
    "rezero": dict.fromkeys(MODELS, "applies"),
    "zero-last-layer": dict.fromkeys(MODELS, "applies"),
    "gpt2": {**dict.fromkeys(MODELS, "applies"), "diffusion-unet": LAYER_MARKS},
    "ds-init": {**dict.fromkeys(MODELS, "applies"), "diffusion-unet": LAYER_MARKS},
    "deepnorm": {
        **dict.fromkeys(MODELS, "applies"),
        "hf-gpt2": r"branch 'transformer\.h\.0\.attn' has no LayerNorm after its sum: mark it with "
        r"mark_branch\(\.\.\., post=",
        "diffusion-unet": LAYER_MARKS,
    },
    "admin": {
        **dict.fromkeys(MODELS, "applies"),
        "hf-gpt2": r"admin needs post-LN .* branch 'transformer\.h\.0\.attn' has no LayerNorm after its sum",
        "diffusion-unet": LAYER_MARKS,
    },
    **{
        scheme: {
            **dict.fromkeys(MODELS, rf"{scheme} initialises the layers of torch's nn.TransformerEncoder"),
            "torch-encoder": "applies",
            "torch-transformer": "applies",
        }
        for scheme in ("torch-clones", "torch-transformer-reset")
    },
    "pytorch-transformer": {
        **dict.fromkeys(MODELS, "applies"),
        "diffusion-unet": r"TinyUNet has no query/key/value projections .* mark_roles",
    },
}
CASES = [(scheme, model, outcome) for scheme, row in OUTCOMES.items() for model, outcome in row.items()]


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def built() -> dict[str, nn.Module]:
    return {name: make() for name, make in MODELS.items()}


def pooled(parts: list, std_of) -> torch.Tensor:
    """Each matrix over the std its formula gives it, pooled: ~N(0, 1) (or unit-variance uniform)."""
    return torch.cat([(w.tensor / std_of(w)).flatten() for w in parts])


def xavier_std(w, fan_out_factor: int = 1) -> float:
    fan_out, fan_in = w.tensor.shape[:2]
    return math.sqrt(2 / (fan_in + fan_out_factor * fan_out))


def assert_formula(scheme: str, model: nn.Module) -> None:
    """The scheme's formula, read off every branch of any marked model."""
    branches = residual_branches(model)
    lasts = {id(b.last) for b in branches}
    if scheme == "zero-last-layer":
        assert all(torch.count_nonzero(w.tensor) == 0 for b in branches for w in weights_of(b.layers[-1:]))
    elif scheme in ("skipinit", "rezero"):
        params = {id(p) for p in model.parameters()}
        assert all(b.ensure_gain().item() == 0.0 and id(b.ensure_gain()) in params for b in branches)
    elif scheme == "gpt2":
        last = [w for w in weights(model) if id(w.module) in lasts]
        assert_moments(pooled(last, lambda w: 0.02 / math.sqrt(len(branches))), 0.0, 1.0)
        assert_moments(
            pooled([w for w in weights(model) if id(w.module) not in lasts], lambda w: 0.02), 0.0, 1.0
        )
    elif scheme == "ds-init":
        inside = [(w, b.layer) for b in branches for w in weights_of(b.layers)]
        z = [(w.tensor / (xavier_std(w) / math.sqrt(index))).flatten() for w, index in inside]
        assert_moments(torch.cat(z), 0.0, 1.0)
    elif scheme == "deepnorm":
        depths, _ = require_layer_marks(model, "deepnorm")
        constants = deepnorm_constants(depths.get("encoder", 0), depths.get("decoder", 0))
        scaled = [(w, constants[b.stack].beta) for b in branches for w in weights_of(b.layers)]
        z = [
            (w.tensor / (xavier_std(w) * (1.0 if w.role in ("query", "key") else beta))).flatten()
            for w, beta in scaled
        ]
        assert_moments(torch.cat(z), 0.0, 1.0)
    elif scheme == "admin":  # ω² = (N+1)/ln(N+1) − 1, N the residual sublayers of the stack
        for b in branches:
            count = sum(other.stack == b.stack for other in branches)
            omega = math.sqrt((count + 1) / math.log(count + 1) - 1)
            scale = b.residual.skip_scale if b.residual is not None else 1 / b.output.initlab_output_scale
            assert float(scale) == pytest.approx(omega, rel=1e-6)
    elif scheme in ("torch-clones", "torch-transformer-reset"):
        for stack in [m for m in model.modules() if isinstance(m, nn.TransformerEncoder)]:
            first = stack.layers[0].self_attn.in_proj_weight
            same = [torch.equal(layer.self_attn.in_proj_weight, first) for layer in stack.layers[1:]]
            assert all(same) if scheme == "torch-clones" else not any(same)
    elif scheme == "pytorch-transformer":
        qkv = [w for w in weights(model) if w.role in ("query", "key", "value")]
        assert_moments(pooled(qkv, lambda w: xavier_std(w, fan_out_factor=3)), 0.0, 1.0)  # one packed matrix


@pytest.mark.parametrize(("scheme", "model", "outcome"), CASES)
def test_every_structural_scheme_applies_or_says_what_to_mark(
    scheme: str, model: str, outcome: str, built: dict[str, nn.Module]
) -> None:
    fresh = copy.deepcopy(built[model])
    if outcome == "applies":
        assert_formula(scheme, apply_init(fresh, scheme, seeded()))
    else:
        with pytest.raises(SchemeError, match=outcome):
            apply_init(fresh, scheme, seeded())


# ---------------------------------------------------------------- zero branches: identity blocks


def gpt2_inputs() -> torch.Tensor:
    return torch.randint(64, (2, 10), generator=seeded(1))


@pytest.mark.parametrize("scheme", ["skipinit", "rezero", "zero-last-layer"])
def test_gpt2_blocks_start_as_identities(scheme: str, built: dict[str, nn.Module]) -> None:
    model = apply_init(copy.deepcopy(built["hf-gpt2"]), scheme, seeded()).eval()
    seen = []
    hooks = [
        block.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
        for block in model.transformer.h
    ]
    model(gpt2_inputs())
    for hook in hooks:
        hook.remove()
    assert len(seen) == 2
    for inp, out in seen:
        assert torch.equal(out[0] if isinstance(out, tuple) else out, inp)


@pytest.mark.parametrize("scheme", ["skipinit", "rezero", "zero-last-layer"])
def test_diffusion_resblocks_with_a_timestep_embedding_start_as_identities(scheme: str) -> None:
    model = apply_init(marked_unet(), scheme, seeded())
    x, emb = torch.randn(3, 32, 8, 8), torch.randn(3, 128)
    for block in model.blocks:
        assert torch.equal(block(x, emb), x)
    if scheme != "zero-last-layer":
        gains = [block.out_layers[3].initlab_gain for block in model.blocks]
        assert all(g.item() == 0.0 for g in gains)
        model(torch.randn(3, 1, 8, 8), torch.tensor([1, 10, 100])).square().sum().backward()
        assert all(g.grad is not None and g.grad.item() != 0.0 for g in gains)  # α moves at step 0


def test_a_hooked_gain_is_a_parameter_in_the_state_dict_and_survives_a_deep_copy() -> None:
    model = apply_init(marked_unet(), "rezero", seeded())
    gain = model.blocks[0].out_layers[3].initlab_gain
    assert any(p is gain for p in model.parameters())
    state = model.state_dict()
    assert state["blocks.0.out_layers.3.initlab_gain"].item() == 0.0
    twin = copy.deepcopy(model)
    twin.blocks[0].out_layers[3].initlab_gain.data.fill_(1.0)  # the copy's hook reads the copy's gain
    x, emb = torch.randn(2, 32, 8, 8), torch.randn(2, 128)
    assert torch.equal(model.blocks[0](x, emb), x) and not torch.equal(twin.blocks[0](x, emb), x)
    restored = apply_init(marked_unet(), "rezero", seeded(5))
    restored.load_state_dict(state)
    assert torch.equal(restored.blocks[1].out_layers[3].weight, model.blocks[1].out_layers[3].weight)


def test_bert_attention_starts_as_layer_norm_of_its_input(built: dict[str, nn.Module]) -> None:
    model = apply_init(copy.deepcopy(built["hf-bert"]), "rezero", seeded()).eval()
    seen = []
    output = model.encoder.layer[0].attention.output
    hook = output.register_forward_hook(lambda m, args, out: seen.append((args[1], out)))
    model(gpt2_inputs())
    hook.remove()
    (skip, out) = seen[0]
    assert torch.equal(out, output.LayerNorm(skip))  # LN(x + 0·F(x))


def test_torchvision_blocks_hold_a_hooked_gain() -> None:
    model = apply_init(ForeignNet(), "rezero", seeded())
    x = torch.randn(2, 4, 5, 5)
    assert all(torch.equal(block(x), torch.relu(x)) for block in model.layer1)


# ---------------------------------------------------------------- formulas


@pytest.mark.parametrize("layers", [2, 4])
def test_gpt2_on_hugging_face_gpt2_scales_c_proj_by_sqrt_2_n_layer(layers: int) -> None:
    model = apply_init(mark_gpt2(hf_gpt2(layers)), "gpt2", seeded())
    blocks = model.transformer.h
    c_proj = torch.cat([w.flatten() for b in blocks for w in (b.attn.c_proj.weight, b.mlp.c_proj.weight)])
    assert_moments(c_proj, 0.0, 0.02**2 / (2 * layers))
    others = torch.cat(
        [w.flatten() for b in blocks for w in (b.attn.c_attn.weight, b.mlp.c_fc.weight)]
        + [model.transformer.wte.weight.flatten(), model.transformer.wpe.weight.flatten()]
    )
    assert_moments(others, 0.0, 0.02**2)
    assert all(torch.count_nonzero(b.attn.c_attn.bias) == 0 for b in blocks)


def xavier_parts(model: nn.Module, roles: tuple[str, ...]) -> list:
    return [w for w in weights(model) if w.role in roles]


def standardized(parts: list, scale: float) -> torch.Tensor:
    """Each matrix over its Xavier std × scale, pooled: ~N(0, 1) when the formula holds."""
    out = []
    for w in parts:
        fan_out, fan_in = w.tensor.shape[:2]
        out.append((w.tensor / (scale * math.sqrt(2 / (fan_in + fan_out)))).flatten())
    return torch.cat(out)


def test_deepnorm_on_torch_encoder_is_ln_of_alpha_x_plus_g_exactly() -> None:
    depth, width = 3, 32
    model = apply_init(marked_torch_encoder(depth, width), "deepnorm", seeded()).eval()
    alpha, beta = (2 * depth) ** 0.25, (8 * depth) ** -0.25
    scaled = xavier_parts(model, ("value", "attn-out")) + [
        w for w in weights(model) if w.name.endswith(("linear1.weight", "linear2.weight"))
    ]
    assert_moments(standardized(scaled, beta), 0.0, 1.0)
    assert_moments(standardized(xavier_parts(model, ("query", "key")), 1.0), 0.0, 1.0)
    layer = model.layers[0]
    x = torch.randn(2, 5, width, generator=seeded(2))
    with torch.no_grad():
        attention = layer.self_attn(x, x, x, need_weights=False)[0] / layer.self_attn.initlab_output_scale
        h = F.layer_norm(alpha * x + attention, (width,), layer.norm1.weight, layer.norm1.bias, 1e-5)
        ffn = layer.linear2(F.relu(layer.linear1(h))) / layer.linear2.initlab_output_scale
        expected = F.layer_norm(alpha * h + ffn, (width,), layer.norm2.weight, layer.norm2.bias, 1e-5)
        assert torch.allclose(layer(x), expected, atol=1e-5)


def test_deepnorm_on_nn_transformer_uses_the_encoder_decoder_constants() -> None:
    model = apply_init(marked_torch_transformer(encoders=2, decoders=3), "deepnorm", seeded())
    n, m = 2, 3
    enc_alpha, dec_alpha = 0.81 * (n**4 * m) ** (1 / 16), (3 * m) ** 0.25
    assert model.encoder.layers[0].self_attn.initlab_output_scale.item() == pytest.approx(1 / enc_alpha)
    assert model.decoder.layers[2].multihead_attn.initlab_output_scale.item() == pytest.approx(1 / dec_alpha)
    assert model.decoder.layers[0].norm3.eps == pytest.approx(1e-5 / dec_alpha**2)
    apply_init(model, "deepnorm", seeded(1))  # again: the same α, not α² twice
    assert model.decoder.layers[0].norm3.eps == pytest.approx(1e-5 / dec_alpha**2)
    assert model.decoder.layers[2].multihead_attn.initlab_output_scale.item() == pytest.approx(1 / dec_alpha)
    dec_values = [w for w in weights(model.decoder) if w.role == "value"]
    assert_moments(standardized(dec_values, (12 * m) ** -0.25), 0.0, 1.0)


def test_ds_init_scales_each_gpt2_layer_by_alpha_over_sqrt_l() -> None:
    model = apply_init(mark_gpt2(hf_gpt2(4)), "ds-init", seeded(), alpha=0.5)
    for index, block in enumerate(model.transformer.h, start=1):
        z = standardized(weights(block), 0.5 / math.sqrt(index))
        assert_moments(z, 0.0, 1.0)
        assert z.abs().max() <= math.sqrt(3) + 1e-4  # uniform: the bound is √3 std
    c_attn = [w for w in weights(model.transformer.h[0]) if w.packed]
    assert [w.role for w in c_attn] == ["query", "key", "value"]  # the fused c_attn: three matrices


def test_pytorch_transformer_on_bert_fuses_q_k_v_as_nn_multihead_attention_does() -> None:
    model = apply_init(mark_bert(hf_bert(width=64)), "pytorch-transformer", seeded())
    qkv = xavier_parts(model, ("query", "key", "value"))
    assert len(qkv) == 6
    assert_moments(torch.cat([w.tensor.flatten() for w in qkv]), 0.0, 1 / (2 * 64))  # fan-out 3E
    assert all(torch.count_nonzero(w.bias) == 0 for w in qkv + xavier_parts(model, ("attn-out",)))


# ---------------------------------------------------------------- issue 10: nothing silently else


def test_gpt2_refuses_a_conv_resnet() -> None:
    with pytest.raises(SchemeError, match=r"'gpt2' needs the transformer layer and stack .* 'layer1\.0'"):
        apply_init(build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8), "gpt2", seeded())


def test_pytorch_transformer_refuses_a_transformer_without_marked_attention() -> None:
    with pytest.raises(SchemeError, match=r"BertModel has no query/key/value projections"):
        apply_init(hf_bert(), "pytorch-transformer", seeded())


def test_an_unmarked_foreign_transformer_is_refused_with_the_marking_hint() -> None:
    with pytest.raises(SchemeError, match=r"GPT2LMHeadModel has none .*mark_branch\(module, last="):
        apply_init(hf_gpt2(), "rezero", seeded())
    assert residual_branches(hf_gpt2()) == []


def test_rezero_shares_one_alpha_per_gpt2_block_through_the_hooks() -> None:
    """majumderb/rezero's one α per layer, on a marked foreign model: attn and mlp share a parameter."""
    model = apply_init(mark_gpt2(hf_gpt2(3)), "rezero", seeded(), share="layer")
    gains = [b.ensure_gain() for b in residual_branches(model)]
    assert [gains[i] is gains[i + 1] for i in (0, 2, 4)] == [True] * 3
    assert len({id(g) for g in gains}) == 3 and all(g.item() == 0 for g in gains)
    x = torch.randint(50, (2, 8))
    with torch.no_grad():
        gains[0].fill_(0.5)
        moved = model(x).logits
        gains[0].zero_()
        assert not torch.allclose(moved, model(x).logits)  # the shared α reaches the forward pass
