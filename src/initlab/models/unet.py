"""A small diffusion U-Net after openai/improved-diffusion's ``unet.py`` (Nichol & Dhariwal 2021,
arXiv 2102.09672; the DDPM U-Net of Ho, Jain & Abbeel 2020, arXiv 2006.11239).

The structure follows the reference module by module, written anew:

- ``ResBlock``: ``in_layers = GN → SiLU → conv3×3``; the timestep embedding through
  ``emb_layers = SiLU → Linear`` is added to the hidden state, or (``use_scale_shift_norm``) applied as
  ``h = GN(h)·(1 + scale) + shift``; ``out_layers = GN → SiLU → Dropout → conv3×3``; the output is
  ``skip_connection(x) + h``, the skip the identity or a 1×1 conv when the width changes;
- ``AttentionBlock``: ``x + proj_out(attention(qkv(GN(x))))`` over the spatial positions (1×1 Conv1d
  projections, ``num_heads`` heads, q and k each scaled by C^(−1/4) as the reference does);
- the timestep embedding: sinusoidal (``timestep_embedding``) → Linear → SiLU → Linear to 4·C;
- down path (a stride-2 conv per level), middle (ResBlock, attention, ResBlock), up path whose blocks
  read the down path's outputs concatenated on the channels, nearest upsampling + conv;
- ``out = GN → SiLU → conv3×3`` to the image's channels (ε-prediction).

GroupNorm runs in float32 whatever the input dtype (the reference's ``GroupNorm32``), with 32 groups
(fewer when a layer has fewer channels, see :func:`group_norm`). Every weight layer starts at PyTorch's
default here; the reference's ``zero_module`` calls are the ``zero-module`` scheme
(:mod:`initlab.schemes.diffusion`), so that other inits can be compared on the same network. Each
ResBlock and AttentionBlock is marked as a residual branch (its last layer the one ``zero_module``
zeroes), and the output conv as the head: the residual schemes and the probes find them there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from initlab.errors import ConfigError
from initlab.models.branches import mark_branch
from initlab.models.registry import MODELS
from initlab.models.roles import mark_head

#: The reference's GroupNorm group count (``normalization(channels) = GroupNorm32(32, channels)``).
NORM_GROUPS = 32


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embeddings of ``timesteps`` (shape N) as N × ``dim``: [cos(t·f_k), sin(t·f_k)],
    f_k = max_period^(−k/half), k = 0 … half − 1, half = ⌊dim/2⌋, a zero column when ``dim`` is odd
    (improved-diffusion ``nn.py``, after the Transformer's positional encoding)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = timesteps[:, None].float() * freqs.to(timesteps.device)[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 and cast back to the input's dtype (the reference's ``GroupNorm32``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def group_norm(channels: int, groups: int = NORM_GROUPS) -> GroupNorm32:
    """GroupNorm32 over ``channels`` with gcd(groups, channels) groups (32 for the reference's widths,
    all multiples of 32; a narrower layer gets the largest group count that divides it)."""
    return GroupNorm32(math.gcd(groups, channels), channels)


class TimestepBlock(nn.Module):
    """A module whose forward takes the timestep embedding as a second argument."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class TimestepSequential(nn.Sequential):
    """A sequence that passes the embedding to the children that take it (``TimestepEmbedSequential``)."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, emb) if isinstance(layer, TimestepBlock) else layer(x)
        return x


class ResBlock(TimestepBlock):
    """``skip_connection(x) + out_layers(in_layers(x) + emb_layers(emb))`` (module docstring).

    ``hidden`` is the width inside the branch (default: ``out_channels``, as the reference); a
    width-1 branch is the network a constant-filter init collapses to.
    """

    def __init__(
        self,
        channels: int,
        emb_channels: int,
        dropout: float,
        out_channels: int,
        *,
        use_scale_shift_norm: bool,
        hidden: int | None = None,
        groups: int = NORM_GROUPS,
    ):
        super().__init__()
        hidden = hidden or out_channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(
            group_norm(channels, groups), nn.SiLU(), nn.Conv2d(channels, hidden, 3, padding=1)
        )
        self.emb_layers = nn.Sequential(
            nn.SiLU(), nn.Linear(emb_channels, 2 * hidden if use_scale_shift_norm else hidden)
        )
        self.out_layers = nn.Sequential(
            group_norm(hidden, groups),
            nn.SiLU(),
            nn.Dropout(p=dropout),
            nn.Conv2d(hidden, out_channels, 3, padding=1),
        )
        self.skip_connection = (
            nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)
        )
        mark_branch(
            self,
            layers=["in_layers.2", "emb_layers.1", "out_layers.3"],
            last="out_layers.3",
            skip="skip_connection",
        )

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)[..., None, None]
        if self.use_scale_shift_norm:
            scale, shift = torch.chunk(emb_out, 2, dim=1)
            h = self.out_layers[0](h) * (1 + scale) + shift
            h = self.out_layers[1:](h)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """``x + proj_out(attention(qkv(GN(x))))`` over the H·W positions (the reference's
    ``AttentionBlock`` with ``QKVAttention``)."""

    def __init__(self, channels: int, num_heads: int = 1, groups: int = NORM_GROUPS):
        super().__init__()
        self.num_heads = num_heads
        self.norm = group_norm(channels, groups)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)
        mark_branch(self, layers=["qkv", "proj_out"], last="proj_out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x)).reshape(b * self.num_heads, -1, x.shape[-1])
        q, k, v = torch.split(qkv, qkv.shape[1] // 3, dim=1)
        scale = 1 / math.sqrt(math.sqrt(q.shape[1]))
        weight = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale).float(), dim=-1)
        h = torch.einsum("bts,bcs->bct", weight.type(v.dtype), v).reshape(b, -1, x.shape[-1])
        return (x + self.proj_out(h)).reshape(b, c, *spatial)


class Downsample(nn.Module):
    """A stride-2 3×3 conv (the reference's ``Downsample`` with ``conv_resample``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest-neighbour ×2 upsampling, then a 3×3 conv (the reference's ``Upsample``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class UNet(nn.Module):
    """The U-Net of the module docstring: ``model(x_t, t)`` predicts the noise ε in ``x_t``."""

    initlab_task = "denoise"
    """Runs of this model learn to denoise (:mod:`initlab.tasks.denoise`), whatever the dataset."""

    def __init__(
        self,
        in_channels: int,
        model_channels: int,
        channel_mult: Sequence[int],
        num_res_blocks: int,
        attention_resolutions: Sequence[int],
        *,
        dropout: float = 0.0,
        num_heads: int = 1,
        use_scale_shift_norm: bool = True,
        branch_width: int | None = None,
        norm_groups: int = NORM_GROUPS,
    ):
        super().__init__()
        self.model_channels = model_channels
        emb = 4 * model_channels
        self.time_embed = nn.Sequential(nn.Linear(model_channels, emb), nn.SiLU(), nn.Linear(emb, emb))

        def res(cin: int, cout: int) -> ResBlock:
            return ResBlock(
                cin,
                emb,
                dropout,
                cout,
                use_scale_shift_norm=use_scale_shift_norm,
                hidden=branch_width,
                groups=norm_groups,
            )

        def attention(ch: int) -> AttentionBlock:
            return AttentionBlock(ch, num_heads, norm_groups)

        self.input_blocks = nn.ModuleList(
            [TimestepSequential(nn.Conv2d(in_channels, model_channels, 3, padding=1))]
        )
        skips, ch, ds = [model_channels], model_channels, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [res(ch, mult * model_channels)]
                ch = mult * model_channels
                if ds in attention_resolutions:
                    layers.append(attention(ch))
                self.input_blocks.append(TimestepSequential(*layers))
                skips.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepSequential(Downsample(ch)))
                skips.append(ch)
                ds *= 2
        self.middle_block = TimestepSequential(res(ch, ch), attention(ch), res(ch, ch))
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [res(ch + skips.pop(), model_channels * mult)]
                ch = model_channels * mult
                if ds in attention_resolutions:
                    layers.append(attention(ch))
                if level and i == num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepSequential(*layers))
        self.out = nn.Sequential(
            group_norm(ch, norm_groups), nn.SiLU(), mark_head(nn.Conv2d(ch, in_channels, 3, padding=1))
        )

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels))
        hs, h = [], x
        for block in self.input_blocks:
            h = block(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


PositiveInt = Annotated[int, Field(gt=0)]


@MODELS.register("unet", family="diffusion")
def unet(
    *,
    input_shape: tuple[int, ...],
    model_channels: PositiveInt = 32,
    channel_mult: list[PositiveInt] = [1, 2, 2],  # noqa: B006 (validated, never mutated)
    num_res_blocks: PositiveInt = 1,
    attention_resolutions: list[PositiveInt] = [4],  # noqa: B006
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0,
    num_heads: PositiveInt = 1,
    use_scale_shift_norm: bool = True,
    branch_width: PositiveInt | None = None,
    norm_groups: PositiveInt = NORM_GROUPS,
) -> UNet:
    """A small improved-diffusion U-Net (:class:`UNet`) for images of ``input_shape`` (C, H, W).

    Defaults: 32 base channels, multipliers (1, 2, 2) (28×28 → 14×14 → 7×7 on MNIST), one ResBlock per
    level, attention at 4× downsampling (7×7), scale-shift norm (improved-diffusion's default
    ``use_scale_shift_norm=True``), no dropout. ``attention_resolutions`` are downsampling rates, as
    in the reference. ``branch_width``: the width inside every ResBlock's branch (default: its output
    width). H and W must be divisible by 2^(levels − 1).
    """
    if len(input_shape) != 3:
        shape = tuple(input_shape)
        raise ConfigError(f"model 'unet' takes images (C, H, W); the dataset gives shape {shape}")
    factor = 2 ** (len(channel_mult) - 1)
    if input_shape[1] % factor or input_shape[2] % factor:
        raise ConfigError(
            f"model 'unet' with channel_mult={list(channel_mult)} downsamples by {factor}: image height and "
            f"width must be multiples of it; the dataset gives {tuple(input_shape[1:])}"
        )
    if model_channels % num_heads:
        raise ConfigError(f"num_heads={num_heads} must divide model_channels={model_channels}")
    return UNet(
        input_shape[0],
        model_channels,
        tuple(channel_mult),
        num_res_blocks,
        tuple(attention_resolutions),
        dropout=dropout,
        num_heads=num_heads,
        use_scale_shift_norm=use_scale_shift_norm,
        branch_width=branch_width,
        norm_groups=norm_groups,
    )
