"""A small transformer, readable top to bottom: an encoder classifier and a causal decoder LM.

``kind="encoder"`` classifies images read as sequences: each of the H rows of a C×H×W image is one
token of C·W features (MNIST: 28 tokens of 28 pixels), embedded by a Linear; bidirectional attention;
mean over tokens; Linear head. It trains in the ordinary loop (``initlab run --model transformer``).

``kind="decoder"`` is a causal language model: ``input_shape=(T,)`` is the context length and
``num_classes`` the vocabulary; it maps int64 tokens (B, t ≤ T) to next-token logits (B, t, V).
It trains on a token corpus (``initlab run --dataset shakespeare-char --model transformer
--model-param kind=decoder``), which gives it the context length and the vocabulary.

Each layer is two :class:`~initlab.models.blocks.Residual` blocks (attention, then a feed-forward
network), marked with their 1-based ``layer`` and ``stack``. ``norm`` places LayerNorm:

- ``"post"``: ``x = LN(x + F(x))`` (Vaswani et al. 2017; DeepNorm's form with ``Residual.skip_scale``);
- ``"pre"``:  ``x = x + F(LN(x))``, with a final LN before the head (GPT-2, nanoGPT);
- ``"none"``: ``x = x + F(x)`` (T-Fixup, ReZero).

``normformer=True`` (with ``norm="pre"``) adds NormFormer's three operations (Shleifer et al. 2021,
arXiv 2110.09456): a learnable scale per attention head (initialised to 1) on each head's output
before the output projection, a LayerNorm on the attention sublayer's output, and a LayerNorm after
the FFN's activation, before ``fc2``. (fairseq's NormFormer, ``scale_heads`` in
``fairseq/modules/transformer_layer.py``, multiplies the attention module's output, *after* its
output projection, viewed as heads: the same at init, where every scale is 1, but not the paper's
operation once the scales train; this follows the paper. fairseq's optional ``scale_resids``, a
learned per-feature scale on the shortcut, is not built.)

The constants of DeepNorm (α on the shortcut), Admin (ω on the shortcut) and ReZero (the branch
gains, one per sublayer or one per layer) come from their schemes (``init=deepnorm``, ``admin``,
``rezero``) on a model built with ``norm="post"`` (DeepNorm, Admin) or ``"none"`` (ReZero, T-Fixup).

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

    def __init__(self, width: int, heads: int, causal: bool, dropout: float, head_scale: bool = False):
        super().__init__()
        self.heads, self.causal, self.dropout = heads, causal, dropout
        self.query = set_role(nn.Linear(width, width), QUERY)
        self.key = set_role(nn.Linear(width, width), KEY)
        self.value = set_role(nn.Linear(width, width), VALUE)
        self.head_scale = nn.Parameter(torch.ones(heads)) if head_scale else None
        """NormFormer's per-head scale γ_h on head h's output, before the output projection (or None)."""
        self.out = set_role(nn.Linear(width, width), ATTN_OUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, c // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=self.causal)
        if self.head_scale is not None:  # y: B×heads×T×(C/heads)
            y = y * self.head_scale.view(1, -1, 1, 1)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


class FeedForward(nn.Module):
    """``fc2(act(fc1(x)))`` with a hidden width of ``hidden``; ``mid_norm``: ``fc2(LN(act(fc1(x))))``."""

    def __init__(self, width: int, hidden: int, activation: Activation, mid_norm: bool = False):
        super().__init__()
        self.fc1 = set_role(nn.Linear(width, hidden), FFN_IN)
        self.act = make_activation(activation)
        self.mid_norm = nn.LayerNorm(hidden) if mid_norm else None
        self.fc2 = set_role(nn.Linear(hidden, width), FFN_OUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        if self.mid_norm is not None:
            h = self.mid_norm(h)
        return self.fc2(h)


def _sublayer(
    name: str, module: nn.Module, width: int, norm: NormPlace, dropout: float, out_norm: bool = False, **mark
) -> Residual:
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    if norm == "pre":
        parts["norm"] = nn.LayerNorm(width)
    parts[name] = module
    if out_norm:
        parts["out_norm"] = nn.LayerNorm(width)
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
        normformer: bool = False,
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
            attn = SelfAttention(width, heads, kind == "decoder", dropout, head_scale=normformer)
            ffn = FeedForward(width, ffn_mult * width, activation, mid_norm=normformer)
            layer = OrderedDict(
                attn=_sublayer("attn", attn, width, norm, dropout, out_norm=normformer, **mark),
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


def sequence_input(
    kind: Kind, input_shape: tuple[int, ...], num_classes: int
) -> tuple[int, int | None, int | None]:
    """``(sequence length, features per token, vocabulary)`` of a ``kind`` model on ``input_shape``.

    A decoder reads ``(T,)`` int64 tokens of a ``num_classes`` vocabulary (features None); an encoder
    reads C×H×W images as H tokens of C·W features (vocabulary None).
    """
    if kind == "decoder":
        if len(input_shape) != 1:
            raise ConfigError(
                f"kind='decoder' is a token language model: input_shape must be (context length,), "
                f"got {tuple(input_shape)}"
            )
        return input_shape[0], None, num_classes
    if len(input_shape) != 3:
        raise ConfigError(f"kind='encoder' reads C×H×W images; input_shape {tuple(input_shape)} is not")
    return input_shape[1], input_shape[0] * input_shape[2], None


@MODELS.register("transformer", family="transformer", keyless_defaults=("normformer",))
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
    normformer: bool = False,
) -> Transformer:
    """A small transformer: ``kind`` encoder classifier (image rows as tokens) or causal decoder LM.

    ``norm`` post | pre | none places LayerNorm (see the module docstring); ``depth`` layers of
    ``width`` features and ``heads`` heads, FFN width ``ffn_mult``·``width``; ``scale_embedding``
    multiplies the input embedding by √width (fairseq, Vaswani et al.); ``branch_gain`` gives every
    residual branch a learnable scalar gain (initialised to 1); ``normformer`` (pre-LN only) adds
    NormFormer's head scales and two LayerNorms. Decoder: ``input_shape=(T,)`` is the context length
    and ``num_classes`` the vocabulary.
    """
    if width % heads:
        raise ConfigError(f"width={width} is not divisible by heads={heads}")
    if normformer and norm != "pre":
        raise ConfigError(f"normformer=True adds to a pre-LN transformer: use norm='pre', not norm={norm!r}")
    seq_len, features, vocab = sequence_input(kind, input_shape, num_classes)
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
        normformer=normformer,
    )
