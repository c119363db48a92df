"""The diffusion U-Net: improved-diffusion's structure, its marks, and its timestep embedding."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

from initlab.errors import ConfigError
from initlab.models import build_model, find_head, residual_branches
from initlab.models.unet import AttentionBlock, ResBlock, group_norm, timestep_embedding


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The small U-Net is bound by per-op dispatch: one thread is fastest, and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**params: object) -> torch.nn.Module:
    return build_model("unet", input_shape=(1, 8, 8), num_classes=10, model_channels=8, **params)


def test_timestep_embedding_is_the_reference_formula() -> None:
    t = torch.tensor([0, 7, 999])
    emb = timestep_embedding(t, 6)
    for row, step in enumerate(t.tolist()):
        freqs = [10_000 ** (-k / 3) for k in range(3)]
        expected = [math.cos(step * f) for f in freqs] + [math.sin(step * f) for f in freqs]
        assert emb[row].tolist() == pytest.approx(expected, abs=1e-4)
    assert timestep_embedding(t, 5)[:, -1].eq(0).all()  # odd width: a zero column


def test_structure_branches_and_head() -> None:
    model = tiny()
    assert model.initlab_task == "denoise"
    branches = residual_branches(model)
    res = [b for b in branches if isinstance(b.block, ResBlock)]
    attn = [b for b in branches if isinstance(b.block, AttentionBlock)]
    # levels (1, 2, 2), one ResBlock each: 3 down, 2 middle, 6 up; attention at 4x: 1 down, 1 middle, 2 up
    assert (len(res), len(attn)) == (11, 4)
    for b in res:
        assert b.last is b.block.out_layers[3] and b.layers[0] is b.block.in_layers[2]
    for b in attn:
        assert b.last is b.block.proj_out
    assert find_head(model) is model.out[2]
    out = model(torch.randn(3, 1, 8, 8), torch.tensor([1, 500, 999]))
    assert out.shape == (3, 1, 8, 8)


def test_group_norm_in_float32_and_group_count() -> None:
    norm = group_norm(48)
    assert norm.num_groups == 16  # gcd(32, 48)
    x = torch.randn(2, 48, 4, 4, dtype=torch.float64)
    assert norm(x).dtype == torch.float64
    expected = torch.nn.functional.group_norm(x.float(), 16, norm.weight, norm.bias).double()
    assert torch.equal(norm(x), expected)  # computed in float32, not in the input's float64


def test_branch_width_narrows_every_resblock() -> None:
    model = tiny(branch_width=1)
    for b in residual_branches(model):
        if isinstance(b.block, ResBlock):
            assert b.block.in_layers[2].out_channels == 1 and b.last.in_channels == 1


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ConfigError, match="multiples of it"):
        build_model("unet", input_shape=(1, 28, 28), num_classes=10, channel_mult=[1, 2, 2, 2])
    with pytest.raises(ConfigError, match="takes images"):
        build_model("unet", input_shape=(64,), num_classes=10)
