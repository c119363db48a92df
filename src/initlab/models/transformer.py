"""A small transformer, readable top to bottom: an encoder classifier and a causal decoder LM.

``kind="encoder"`` classifies images read as sequences: each of the H rows of a C×H×W image is one
token of C·W features (MNIST: 28 tokens of 28 pixels), embedded by a Linear; bidirectional attention;
mean over tokens; Linear head. It trains in the ordinary loop (``initlab run --model transformer``).

``kind="decoder"`` is a causal language model: ``input_shape=(T,)`` is the context length and
``num_classes`` the vocabulary; it maps int64 tokens (B, t ≤ T) to next-token logits (B, t, V). No
dataset of initlab's is a token stream, so it is used standalone (e.g. on digits' pixel values, 0..16,
read as 64-token sequences).

Each layer is two :class:`~initlab.models.blocks.Residual` blocks (attention, then a feed-forward
network), marked with their 1-based ``layer`` and ``stack``. ``norm`` places LayerNorm:

- ``"post"``: ``x = LN(x + F(x))`` (Vaswani et al. 2017; DeepNorm's form with ``Residual.skip_scale``);
- ``"pre"``:  ``x = x + F(LN(x))``, with a final LN before the head (GPT-2, nanoGPT);
- ``"none"``: ``x = x + F(x)`` (T-Fixup, ReZero).

Roles mark the input embedding, the position embedding, the query/key/value/output projections, the
two FFN layers and the head, so the transformer schemes find what their formulas name.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from initlab.errors import ConfigError
from initlab.models.activations import Activation, make_activation
from initlab.models.blocks import Residual
from initlab.models.registry import MODELS
from initlab.models.roles import (
    ATTN_OUT,
    EMBEDDING,
    FFN_IN,
    FFN_OUT,
    KEY,
    POSITION,
    QUERY,
    VALUE,
    mark_head,
    set_role,
)

Kind = Literal["encoder", "decoder"]
NormPlace = Literal["post", "pre", "none"]


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention with separate query/key/value/output projections."""

    def __init__(self, width: int, heads: int, causal: bool, dropout: float):
        super().__init__()
        self.heads, self.causal, self.dropout = heads, causal, dropout
        self.query = set_role(nn.Linear(width, width), QUERY)
        self.key = set_role(nn.Linear(width, width), KEY)
        self.value = set_role(nn.Linear(width, width), VALUE)
        self.out = set_role(nn.Linear(width, width), ATTN_OUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, c // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=self.causal)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


class FeedForward(nn.Module):
    """``fc2(act(fc1(x)))`` with a hidden width of ``hidden``."""

    def __init__(self, width: int, hidden: int, activation: Activation):
        super().__init__()
        self.fc1 = set_role(nn.Linear(width, hidden), FFN_IN)
        self.act = make_activation(activation)
        self.fc2 = set_role(nn.Linear(hidden, width), FFN_OUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _sublayer(name: str, module: nn.Module, width: int, norm: NormPlace, dropout: float, **mark) -> Residual:
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    if norm == "pre":
        parts["norm"] = nn.LayerNorm(width)
    parts[name] = module
    if dropout:
        parts["dropout"] = nn.Dropout(dropout)
    post = nn.LayerNorm(width) if norm == "post" else None
    return Residual(nn.Sequential(parts), post=post, **mark)


class Transformer(nn.Module):
    """Embedding + learned positions → ``depth`` layers of (attention, FFN) residuals → [LN] → head."""

    def __init__(
        self,
        *,
        kind: Kind,
        features: int | None,
        vocab: int | None,
        seq_len: int,
        num_classes: int,
        depth: int,
        width: int,
        heads: int,
        ffn_mult: int,
        norm: NormPlace,
        activation: Activation,
        dropout: float,
        scale_embedding: bool,
        branch_gain: bool,
    ):
        super().__init__()
        self.kind = kind
        embed = nn.Embedding(vocab, width) if vocab is not None else nn.Linear(features or 0, width)
        self.embed = set_role(embed, EMBEDDING)
        self.position = set_role(nn.Embedding(seq_len, width), POSITION)
        self.embed_scale = math.sqrt(width) if scale_embedding else 1.0
        self.drop = nn.Dropout(dropout)
        layers = []
        for i in range(1, depth + 1):
            mark = {"layer": i, "stack": kind, "gain": 1.0 if branch_gain else None}
            attn = SelfAttention(width, heads, causal=kind == "decoder", dropout=dropout)
            ffn = FeedForward(width, ffn_mult * width, activation)
            layer = OrderedDict(
                attn=_sublayer("attn", attn, width, norm, dropout, **mark),
                ffn=_sublayer("ffn", ffn, width, norm, dropout, **mark),
            )
            layers.append(nn.Sequential(layer))
        self.layers = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(width) if norm == "pre" else nn.Identity()
        self.head = mark_head(nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "encoder":  # B×C×H×W -> B×H×(C·W): one token per image row
            x = x.permute(0, 2, 1, 3).flatten(2)
        t = x.shape[1]
        positions = torch.arange(t, device=x.device)
        h = self.drop(self.embed(x) * self.embed_scale + self.position(positions))
        h = self.norm(self.layers(h))
        return self.head(h.mean(1) if self.kind == "encoder" else h)


@MODELS.register("transformer", family="transformer")
def transformer(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    kind: Kind = "encoder",
    norm: NormPlace = "pre",
    depth: Annotated[int, Field(ge=1, le=10_000)] = 2,
    width: Annotated[int, Field(gt=0)] = 64,
    heads: Annotated[int, Field(gt=0)] = 4,
    ffn_mult: Annotated[int, Field(gt=0)] = 4,
    activation: Activation = "gelu",
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0,
    scale_embedding: bool = False,
    branch_gain: bool = False,
) -> Transformer:
    """A small transformer: ``kind`` encoder classifier (image rows as tokens) or causal decoder LM.

    ``norm`` post | pre | none places LayerNorm (see the module docstring); ``depth`` layers of
    ``width`` features and ``heads`` heads, FFN width ``ffn_mult``·``width``; ``scale_embedding``
    multiplies the input embedding by √width (fairseq, Vaswani et al.); ``branch_gain`` gives every
    residual branch a learnable scalar gain (initialised to 1). Decoder: ``input_shape=(T,)`` is the
    context length and ``num_classes`` the vocabulary.
    """
    if width % heads:
        raise ConfigError(f"width={width} is not divisible by heads={heads}")
    if kind == "decoder":
        if len(input_shape) != 1:
            raise ConfigError(
                f"kind='decoder' is a token language model: input_shape must be (context length,), "
                f"got {tuple(input_shape)}"
            )
        seq_len, features, vocab = input_shape[0], None, num_classes
    else:
        if len(input_shape) != 3:
            raise ConfigError(f"kind='encoder' reads C×H×W images; input_shape {tuple(input_shape)} is not")
        seq_len, features, vocab = input_shape[1], input_shape[0] * input_shape[2], None
    return Transformer(
        kind=kind,
        features=features,
        vocab=vocab,
        seq_len=seq_len,
        num_classes=num_classes,
        depth=depth,
        width=width,
        heads=heads,
        ffn_mult=ffn_mult,
        norm=norm,
        activation=activation,
        dropout=dropout,
        scale_embedding=scale_embedding,
        branch_gain=branch_gain,
    )
