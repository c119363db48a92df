"""Foreign models for the structure tests: torchvision's block layout (BasicBlock / Bottleneck),
improved-diffusion's ResBlock with a timestep embedding (after openai/improved-diffusion ``unet.py``),
PyTorch's own ``nn.TransformerEncoder`` / ``nn.Transformer`` and Hugging Face GPT-2 and BERT built from
small configs (no weights are downloaded), each with the marks that tell initlab where its branches are.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from initlab.models import mark_branch, mark_branches, mark_roles


class BasicBlock(nn.Module):
    """torchvision's BasicBlock layout (conv1, bn1, relu, conv2, bn2, downsample)."""

    def __init__(self, c: int, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), norm(c)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), norm(c)
        self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + x)


class Bottleneck(BasicBlock):
    """torchvision's Bottleneck layout (conv1..3, bn1..3, downsample)."""

    def __init__(self, c: int, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__(c, norm)
        self.conv3, self.bn3 = nn.Conv2d(c, c, 1, bias=False), norm(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        return self.relu(self.bn3(self.conv3(out)) + x)


class ForeignNet(nn.Module):
    def __init__(self, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(4, norm), BasicBlock(4, norm), Bottleneck(4, norm))
        self.fc = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layer1(self.conv1(x)).mean((2, 3)))


# ---------------------------------------------------------------- improved-diffusion's ResBlock


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: int = 10000) -> torch.Tensor:
    """Sinusoidal timestep embeddings, as improved-diffusion's ``nn.timestep_embedding``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = timesteps[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    """improved-diffusion ``unet.py``'s ResBlock: in_layers, emb_layers, out_layers, skip_connection.

    forward(x, emb): h = in_layers(x); h = h + emb_layers(emb) (or scale-shift of out_layers' norm);
    return skip_connection(x) + out_layers(h). Its last conv is zeroed by ``zero_module`` there; here
    it keeps PyTorch's default, as a user's model before any init scheme.
    """

    def __init__(
        self, channels: int, emb_channels: int, out_channels: int | None = None, scale_shift: bool = False
    ):
        super().__init__()
        out_channels = out_channels or channels
        self.use_scale_shift_norm = scale_shift
        self.in_layers = nn.Sequential(
            nn.GroupNorm(min(32, channels), channels),
            nn.SiLU(),
            nn.Conv2d(channels, out_channels, 3, padding=1),
        )
        self.emb_layers = nn.Sequential(
            nn.SiLU(), nn.Linear(emb_channels, (2 if scale_shift else 1) * out_channels)
        )
        self.out_layers = nn.Sequential(
            nn.GroupNorm(min(32, out_channels), out_channels),
            nn.SiLU(),
            nn.Dropout(p=0.0),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        self.skip_connection = (
            nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)
        )

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)
        while len(emb_out.shape) < len(h.shape):
            emb_out = emb_out[..., None]
        if self.use_scale_shift_norm:
            out_norm, out_rest = self.out_layers[0], self.out_layers[1:]
            scale, shift = torch.chunk(emb_out, 2, dim=1)
            h = out_rest(out_norm(h) * (1 + scale) + shift)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class TimestepEmbedSequential(nn.Sequential):
    """improved-diffusion's container: passes the timestep embedding to the blocks that take it."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class TinyUNet(nn.Module):
    """input conv → ResBlocks with a timestep embedding → GN, SiLU, output conv (no down/up-sampling)."""

    def __init__(self, channels: int = 32, blocks: int = 2):
        super().__init__()
        self.model_channels = channels
        emb = 4 * channels
        self.time_embed = nn.Sequential(nn.Linear(channels, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.input_conv = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = TimestepEmbedSequential(
            *[ResBlock(channels, emb, scale_shift=i % 2 == 1) for i in range(blocks)]
        )
        self.out = nn.Sequential(
            nn.GroupNorm(min(32, channels), channels), nn.SiLU(), nn.Conv2d(channels, 1, 3, padding=1)
        )

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels))
        return self.out(self.blocks(self.input_conv(x), emb))


def marked_unet(**params: int) -> TinyUNet:
    """A TinyUNet whose ResBlocks are marked: the branch is everything but skip_connection; its output
    is the last conv's (the scale-shift forward never calls ``out_layers`` itself)."""
    model = TinyUNet(**params)
    mark_branches(model, "blocks.*", skip="skip_connection")
    return model


# ---------------------------------------------------------------- PyTorch's own transformers


def mark_torch_layers(layers: nn.ModuleList, stack: str) -> None:
    """Mark the attention(s) and FFN of each nn.TransformerEncoderLayer / DecoderLayer (post-LN)."""
    for i, layer in enumerate(layers, start=1):
        attentions = [("self_attn", "norm1")]
        if hasattr(layer, "multihead_attn"):
            attentions.append(("multihead_attn", "norm2"))
        for name, norm in attentions:
            mark_branch(getattr(layer, name), post=getattr(layer, norm), layer=i, stack=stack)
        ffn_norm = "norm3" if hasattr(layer, "norm3") else "norm2"
        mark_branch(layer, layers=["linear1", "linear2"], post=ffn_norm, layer=i, stack=stack)


def torch_encoder(depth: int = 3, width: int = 32, seed: int = 0) -> nn.TransformerEncoder:
    """``nn.TransformerEncoder(layer, depth)``: every layer a deep copy of ``layer`` (PyTorch issue 72253)."""
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def marked_torch_encoder(depth: int = 3, width: int = 32) -> nn.TransformerEncoder:
    model = torch_encoder(depth, width)
    mark_torch_layers(model.layers, "encoder")
    return model


def marked_torch_transformer(encoders: int = 2, decoders: int = 3, width: int = 32) -> nn.Transformer:
    torch.manual_seed(0)
    model = nn.Transformer(width, 4, encoders, decoders, 2 * width, dropout=0.0, batch_first=True)
    mark_torch_layers(model.encoder.layers, "encoder")
    mark_torch_layers(model.decoder.layers, "decoder")
    return model


# ---------------------------------------------------------------- Hugging Face transformers


def hf_gpt2(layers: int = 2, width: int = 64, seed: int = 0) -> nn.Module:
    """A Hugging Face ``GPT2LMHeadModel`` from a small config (no weights downloaded), HF's own init."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        n_layer=layers, n_embd=width, n_head=4, vocab_size=64, n_positions=16, bos_token_id=0, eos_token_id=0
    )
    return GPT2LMHeadModel(config)


def mark_gpt2(model: nn.Module) -> nn.Module:
    """GPT-2's branches (attn, mlp of each block: pre-LN, no post norm) and its fused c_attn."""
    mark_branches(model, "transformer.h.*.attn", last="c_proj", stack="decoder")
    mark_branches(model, "transformer.h.*.mlp", last="c_proj", stack="decoder")
    mark_roles(model, {"transformer.h.*.attn.c_attn": "qkv", "transformer.wte": "embedding"})
    return model


def hf_bert(layers: int = 2, width: int = 64, seed: int = 0) -> nn.Module:
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(
        num_hidden_layers=layers,
        hidden_size=width,
        num_attention_heads=4,
        intermediate_size=2 * width,
        vocab_size=64,
        max_position_embeddings=16,
    )
    return BertModel(config)


def mark_bert(model: nn.Module) -> nn.Module:
    """BERT's branches: attention (post-LN inside BertSelfOutput) and FFN (intermediate + output)."""
    mark_branches(model, "encoder.layer.*.attention", post="output.LayerNorm", stack="encoder")
    mark_branches(
        model,
        "encoder.layer.*",
        layers=["intermediate.dense", "output.dense"],
        post="output.LayerNorm",
        stack="encoder",
    )
    mark_roles(
        model,
        {
            "encoder.layer.*.attention.self.query": "query",
            "encoder.layer.*.attention.self.key": "key",
            "encoder.layer.*.attention.self.value": "value",
            "encoder.layer.*.attention.output.dense": "attn-out",
            "embeddings.word_embeddings": "embedding",
        },
    )
    return model
