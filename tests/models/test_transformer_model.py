"""The transformer: shapes, norm placement, causality, marks, and refusals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.errors import ConfigError
from initlab.models import Residual, build_model, find_head, residual_branches, role_of


def test_encoder_reads_image_rows_as_tokens() -> None:
    model = build_model("transformer", input_shape=(1, 28, 28), depth=3, width=32, heads=4)
    assert model.embed.in_features == 28 and model.position.num_embeddings == 28
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert find_head(model) is model.head
    blocks = [m for m in model.modules() if isinstance(m, Residual)]
    assert [(b.layer, b.stack) for b in blocks] == [(i, "encoder") for i in (1, 1, 2, 2, 3, 3)]


def test_decoder_is_a_causal_token_language_model() -> None:
    model = build_model("transformer", input_shape=(16,), num_classes=17, kind="decoder", depth=2, width=32)
    model.eval()
    tokens = torch.randint(17, (3, 16))
    logits = model(tokens)
    assert logits.shape == (3, 16, 17)
    changed = tokens.clone()
    changed[:, 10:] = (changed[:, 10:] + 1) % 17
    after = model(changed)
    assert torch.allclose(logits[:, :10], after[:, :10], atol=1e-6)  # positions < 10 never see the change
    assert not torch.allclose(logits[:, 10:], after[:, 10:])


@pytest.mark.parametrize(("norm", "inside", "after", "final"), [
    ("pre", 1, 0, True), ("post", 0, 1, False), ("none", 0, 0, False)
])  # fmt: skip
def test_norm_placement(norm: str, inside: int, after: int, final: bool) -> None:
    model = build_model("transformer", input_shape=(1, 8, 8), norm=norm, depth=2, width=16, heads=2)
    for block in (m for m in model.modules() if isinstance(m, Residual)):
        assert sum(isinstance(m, nn.LayerNorm) for m in block.branch.modules()) == inside
        assert isinstance(block.post, nn.LayerNorm) == bool(after)
    assert isinstance(model.norm, nn.LayerNorm) == final


def test_roles_mark_every_projection_and_the_branch_ends() -> None:
    model = build_model("transformer", input_shape=(1, 8, 8), depth=2, width=16, heads=2)
    roles = [role_of(m) for m in model.modules() if role_of(m)]
    assert roles == ["embedding", "position"] + [
        "query",
        "key",
        "value",
        "attn-out",
        "ffn-in",
        "ffn-out",
    ] * 2 + ["head"]
    branches = residual_branches(model)
    assert [role_of(b.last) for b in branches] == ["attn-out", "ffn-out"] * 2
    assert [len(b.layers) for b in branches] == [4, 2] * 2


def test_scale_embedding_multiplies_by_sqrt_width() -> None:
    torch.manual_seed(0)
    plain = build_model("transformer", input_shape=(1, 8, 8), depth=1, width=16, heads=2, norm="none")
    scaled = build_model(
        "transformer", input_shape=(1, 8, 8), depth=1, width=16, heads=2, norm="none", scale_embedding=True
    )
    scaled.load_state_dict(plain.state_dict())
    x = torch.rand(2, 8, 8)
    assert torch.allclose(scaled.embed(x) * scaled.embed_scale, plain.embed(x) * 4.0)


def test_bad_transformer_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="width=30 is not divisible by heads=4"):
        build_model("transformer", width=30, heads=4)
    with pytest.raises(ConfigError, match=r"input_shape must be \(context length,\), got \(1, 28, 28\)"):
        build_model("transformer", kind="decoder")
    with pytest.raises(ConfigError, match=r"norm='rms' is invalid.*'post', 'pre' or 'none'"):
        build_model("transformer", norm="rms")
