"""PyTorch's own transformer stack, ``nn.TransformerEncoder(nn.TransformerEncoderLayer(...), N)``.

The same two forms as initlab's ``transformer`` (:mod:`initlab.models.transformer`), with the layers
PyTorch builds: ``kind="decoder"`` is a causal language model (int64 tokens B×t → logits B×t×V; an
``nn.TransformerEncoder`` run with a causal mask is how a decoder-only LM is built from torch's
modules), ``kind="encoder"`` classifies C×H×W images read as H tokens of C·W features.

``nn.TransformerEncoder(layer, N)`` deep-copies ``layer`` N times (``_get_clones``): every layer
starts as an exact copy of one (PyTorch issue 72253). The schemes ``torch-clones`` (what PyTorch
builds: one layer drawn, N copies) and ``torch-transformer-reset`` (``nn.Transformer``'s Xavier
re-init of every matrix) reproduce the two inits from a run's generator
(:mod:`initlab.schemes.torch_transformer`). A run's default init, ``pytorch-default``, redraws
every module on its own, so its layers are *not* copies: use ``init=torch-clones`` for what
PyTorch builds.

Each layer's attention (``self_attn``, its packed q/k/v read as three matrices) and FFN
(``linear1``, ``linear2``) are marked as residual branches with their ``layer`` and ``stack`` and,
for post-LN (``norm_first=False``), the LayerNorm after each sum, so the depth-scaled schemes
(T-Fixup needs ``norm="none"``, which PyTorch's layer has not), the audit and the probes see them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from initlab.errors import ConfigError
from initlab.models.branches import mark_branch
from initlab.models.registry import MODELS
from initlab.models.roles import EMBEDDING, FFN_IN, FFN_OUT, POSITION, mark_head, set_role
from initlab.models.transformer import sequence_input

Kind = Literal["encoder", "decoder"]


class TorchTransformer(nn.Module):
    """Embedding + learned positions → ``nn.TransformerEncoder`` (causal for a decoder) → head."""

    def __init__(
        self,
        *,
        kind: Kind,
        embed: nn.Module,
        seq_len: int,
        num_classes: int,
        layer: nn.TransformerEncoderLayer,
        depth: int,
    ):
        super().__init__()
        self.kind = kind
        width = layer.linear1.in_features
        self.embed = set_role(embed, EMBEDDING)
        self.position = set_role(nn.Embedding(seq_len, width), POSITION)
        final = nn.LayerNorm(width) if layer.norm_first else None
        self.encoder = nn.TransformerEncoder(layer, depth, norm=final, enable_nested_tensor=False)
        for i, block in enumerate(self.encoder.layers, start=1):
            attn_post, ffn_post = (None, None) if block.norm_first else (block.norm1, block.norm2)
            set_role(block.linear1, FFN_IN)
            set_role(block.linear2, FFN_OUT)
            mark_branch(block.self_attn, post=attn_post, layer=i, stack=kind)
            mark_branch(
                block.linear2, layers=[block.linear1, block.linear2], post=ffn_post, layer=i, stack=kind
            )
        self.head = mark_head(nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "encoder":  # B×C×H×W -> B×H×(C·W): one token per image row
            x = x.permute(0, 2, 1, 3).flatten(2)
        t = x.shape[1]
        h = self.embed(x) + self.position(torch.arange(t, device=x.device))
        if self.kind == "decoder":
            mask = nn.Transformer.generate_square_subsequent_mask(t, device=x.device, dtype=h.dtype)
            h = self.encoder(h, mask=mask, is_causal=True)
        else:
            h = self.encoder(h)
        return self.head(h.mean(1) if self.kind == "encoder" else h)


@MODELS.register("torch-transformer", family="transformer")
def torch_transformer(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    kind: Kind = "encoder",
    norm_first: bool = False,
    depth: Annotated[int, Field(ge=1, le=10_000)] = 2,
    width: Annotated[int, Field(gt=0)] = 64,
    heads: Annotated[int, Field(gt=0)] = 4,
    ffn_mult: Annotated[int, Field(gt=0)] = 4,
    activation: Literal["relu", "gelu"] = "relu",
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0,
) -> TorchTransformer:
    """``nn.TransformerEncoder(nn.TransformerEncoderLayer(width, heads, ffn_mult·width), depth)``.

    ``kind`` decoder (causal LM; ``input_shape=(T,)`` the context length, ``num_classes`` the
    vocabulary) or encoder (image rows as tokens, mean-pooled, classified); ``norm_first`` pre-LN
    (with a final LayerNorm) or post-LN (PyTorch's default is post-LN, ``norm_first=False``);
    ``activation`` relu (PyTorch's default) or gelu. Every layer is a deep copy of the first. The
    defaults are ``transformer``'s kind (encoder) and PyTorch's layer (post-LN, relu).
    """
    if width % heads:
        raise ConfigError(f"width={width} is not divisible by heads={heads}")
    seq_len, features, vocab = sequence_input(kind, input_shape, num_classes)
    embed = nn.Embedding(vocab, width) if vocab is not None else nn.Linear(features or 0, width)
    layer = nn.TransformerEncoderLayer(
        width, heads, ffn_mult * width, dropout, activation, batch_first=True, norm_first=norm_first
    )
    return TorchTransformer(
        kind=kind, embed=embed, seq_len=seq_len, num_classes=num_classes, layer=layer, depth=depth
    )
