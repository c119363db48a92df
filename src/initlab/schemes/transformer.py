"""The transformer family: depth-scaled inits that keep deep transformers trainable.

The schemes read roles (``initlab.models.roles``): the residual branches with their ``layer`` and
``stack`` marks, the query/key/value/output and FFN projections, the input and position embeddings,
the head. N is the number of encoder layers, M the number of decoder layers (a layer = attention +
FFN, two residual branches). ``initlab.models.transformer`` builds models with all the marks; a
foreign transformer (Hugging Face GPT-2 or BERT, ``nn.TransformerEncoder``) is marked with
``mark_branches`` and ``mark_roles``, and ``nn.MultiheadAttention``'s packed q/k/v are found without
marks. Weight matrices are read as ``(out, in)`` views (:mod:`initlab.models.weights`): a fused
q/k/v projection is three matrices. A scheme that finds none of the structure its formula names
refuses the model, saying what to mark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from initlab.errors import SchemeError
from initlab.models.branches import require_layer_marks
from initlab.models.roles import ATTN_OUT, EMBEDDING, KEY, POSITION, QUERY, modules_with_role, norm_layers
from initlab.models.weights import QKV_ROLES, Weight, module_weights, weights, weights_of
from initlab.schemes.classic import pytorch_default
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.rules import xavier_std
from initlab.schemes.sampling import normal_, uniform_

Positive = Annotated[float, Field(gt=0)]
ATTENTION_QK = (QUERY, KEY)


def _zero_bias(layer: nn.Module | Weight) -> None:
    if getattr(layer, "bias", None) is not None:
        layer.bias.zero_()


def _xavier_uniform(weight: Weight, scale: float, generator: torch.Generator) -> None:
    bound = math.sqrt(3.0) * xavier_std(weight.tensor) * scale
    uniform_(weight.tensor, -bound, bound, generator)
    _zero_bias(weight)


def _refuse_norms(model: nn.Module, scheme: str) -> None:
    norms = norm_layers(model)
    if norms:
        raise SchemeError(
            f"{scheme} trains without LayerNorm and refuses a model with normalization layers: found "
            f"{len(norms)}, the first at {norms[0]!r}; remove them (initlab's transformer: norm='none')"
        )


def _embedding_dim(module: nn.Module) -> int:
    return module.embedding_dim if isinstance(module, nn.Embedding) else module.weight.shape[0]


@register_scheme(
    "gpt2",
    family="transformer",
    paper=Paper(
        "Radford, Wu, Child, Luan, Amodei & Sutskever",
        2019,
        "Language Models are Unsupervised Multitask Learners",
        url="https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf",
    ),
)
def gpt2(model: nn.Module, *, generator: torch.Generator, std: Positive = 0.02) -> nn.Module:
    """GPT-2: W ~ N(0, std²) with std = 0.02, residual output projections N(0, std²/L), biases 0.

    Every Linear/Conv weight and every Embedding ~ N(0, 0.02²); the last layer of each residual branch
    (the attention output and the FFN's second projection) is scaled by 1/√L, L the number of residual
    branches (2 per layer: nanoGPT's 0.02/√(2·n_layer)); biases 0; LayerNorm γ = 1, β = 0. As in
    nanoGPT ``model.py`` (which draws the projections twice, first at 0.02; here they are drawn once).
    The branches must carry their transformer layer marks: a model whose residual branches are not
    transformer layers (a conv ResNet) is refused.
    """
    _, branches = require_layer_marks(model, "gpt2")
    last = {id(branch.last) for branch in branches}
    scaled = std / math.sqrt(len(branches))
    for weight in weights(model):
        normal_(weight.tensor, 0.0, scaled if id(weight.module) in last else std, generator)
        _zero_bias(weight)
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            normal_(module.weight, 0.0, std, generator)
        elif isinstance(module, nn.LayerNorm) and module.elementwise_affine:
            module.reset_parameters()
    return model


@register_scheme(
    "t-fixup",
    family="transformer",
    paper=Paper(
        "Huang, Perez, Ba & Volkovs",
        2020,
        "Improving Transformer Optimization Through Better Initialization (ICML)",
        url="https://proceedings.mlr.press/v119/huang20f.html",
    ),
)
def t_fixup(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """T-Fixup: no LayerNorm, Xavier elsewhere, embeddings N(0, d^(−1/2)), depth-scaled sublayers.

    - every Linear: Xavier-uniform, W ~ U(±√(6/(fan_in + fan_out))), biases 0;
    - the input embedding (an Embedding, or the Linear embedding image rows): W ~ N(0, d^(−1)),
      i.e. std d^(−1/2) with d the embedding width, then × (9N)^(−1/4) (× (9M)^(−1/4) for a decoder);
    - encoder layers: the value and output projections and both FFN weights × 0.67·N^(−1/4);
    - decoder layers: the same weights × (9M)^(−1/4);
    - a learned position embedding: N(0, d^(−1)), unscaled (fairseq's learned positions; T-Fixup's
      scaling names the token embeddings only).

    A model with LayerNorm (or any normalization) is refused: build ``norm="none"``.

    Paper vs reference (layer6ai-labs/T-Fixup ``fairseq/modules/transformer_layer.py``): the
    reference also multiplies v_proj by √2, to undo fairseq's Xavier gain of 1/√2 on q, k, v; the
    product is the paper's Xavier (gain 1) used here. fairseq multiplies token embeddings by √d in the
    forward pass; build ``scale_embedding=True`` to match it. A model with both an encoder and a
    decoder stack is refused: which stack's depth scales each embedding is not marked.
    """
    _refuse_norms(model, "t-fixup")
    depths, branches = require_layer_marks(model, "t-fixup")
    embeddings = modules_with_role(model, EMBEDDING)
    if not embeddings:
        raise SchemeError(
            "t-fixup scales the input embedding: mark it with set_role(module, 'embedding') or "
            "mark_roles(model, {'name.pattern': 'embedding'})"
        )
    if len(depths) > 1:
        raise SchemeError(
            f"t-fixup: the model has stacks {sorted(depths)}; mark which stack owns each embedding"
        )
    embed_scale = (9 * next(iter(depths.values()))) ** -0.25
    for weight in weights(model):
        _xavier_uniform(weight, 1.0, generator)
    for branch in branches:
        depth = depths[branch.stack]
        scale = 0.67 * depth**-0.25 if branch.stack == "encoder" else (9 * depth) ** -0.25
        for weight in weights_of(branch.layers):
            if weight.role not in ATTENTION_QK:
                weight.tensor.mul_(scale)
    for module in embeddings + modules_with_role(model, POSITION):
        scale = embed_scale if module in embeddings else 1.0
        normal_(module.weight, 0.0, _embedding_dim(module) ** -0.5 * scale, generator)
        _zero_bias(module)
    return model


@dataclass(frozen=True)
class DeepNormConstants:
    """DeepNorm's α (shortcut scale) and β (Xavier gain of FFN, value and output projections)."""

    alpha: float
    beta: float


def deepnorm_constants(encoder_layers: int, decoder_layers: int) -> dict[str, DeepNormConstants]:
    """DeepNet's α and β per stack, for N encoder and M decoder layers (Wang et al. 2022, Table 1).

    Encoder-only: α = (2N)^(1/4), β = (8N)^(−1/4). Decoder-only: α = (2M)^(1/4), β = (8M)^(−1/4).
    Encoder-decoder: encoder α = 0.81·(N⁴M)^(1/16), β = 0.87·(N⁴M)^(−1/16); decoder α = (3M)^(1/4),
    β = (12M)^(−1/4). Pass 0 for an absent stack.
    """
    n, m = encoder_layers, decoder_layers
    if n and m:
        return {
            "encoder": DeepNormConstants(0.81 * (n**4 * m) ** (1 / 16), 0.87 * (n**4 * m) ** (-1 / 16)),
            "decoder": DeepNormConstants((3 * m) ** 0.25, (12 * m) ** -0.25),
        }
    stack, depth = ("encoder", n) if n else ("decoder", m)
    return {stack: DeepNormConstants((2 * depth) ** 0.25, (8 * depth) ** -0.25)}


@register_scheme(
    "deepnorm",
    family="transformer",
    paper=Paper(
        "Wang, Ma, Dong, Huang, Zhang & Wei",
        2022,
        "DeepNet: Scaling Transformers to 1,000 Layers",
        arxiv="2203.00555",
    ),
)
def deepnorm(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """DeepNorm: x_{l+1} = LN(α·x_l + G(x_l)), and Xavier-normal with gain β on FFN, value and output.

    Constants (see ``deepnorm_constants``): encoder-only α = (2N)^(1/4), β = (8N)^(−1/4);
    decoder-only α = (2M)^(1/4), β = (8M)^(−1/4); encoder-decoder: encoder α = 0.81·(N⁴M)^(1/16),
    β = 0.87·(N⁴M)^(−1/16), decoder α = (3M)^(1/4), β = (12M)^(−1/4).

    Every weight in a residual branch gets W ~ N(0, g²·2/(fan_in + fan_out)) with g = β, except the
    query and key projections (g = 1); their biases are 0. α is set as each block's ``skip_scale``;
    on a foreign post-LN block (marked ``post=``), whose shortcut cannot be reached, as the exact
    equivalent LN_ε(α·x + G) = LN_{ε/α²}(x + G/α) (see ``Branch.scale_skip``). The embeddings and the
    head keep their init. Needs post-LN blocks; others (pre-LN, as GPT-2) are refused.

    Paper vs reference (microsoft/torchscale ``architecture/encoder.py``, ``decoder.py``,
    ``encoder_layer``/``decoder_layer`` α): the reference divides every parameter whose name contains
    ``fc1``, ``fc2``, ``out_proj`` or ``v_proj`` by 1/β, not ``q_proj`` or ``k_proj`` (as here), and
    its α and the decoder's β agree with the paper. For encoder-decoder models it divides the
    encoder's weights by (N⁴M)^(1/16)/1.15, i.e. β = 1.15·(N⁴M)^(−1/16), where the paper says 0.87
    (= 1/1.15); this follows the paper. The reference's base init is fairseq's (Xavier-uniform, gain
    1/√2 on q, k, v; PyTorch's default on the FFN) scaled afterwards, and the name match also scales
    the FFN biases (PyTorch's U(±1/√fan_in)); the paper's pseudocode, followed here, draws
    Xavier-normal with gain β directly, biases 0.
    """
    depths, branches = require_layer_marks(model, "deepnorm")
    for branch in branches:
        if not isinstance(branch.post, nn.LayerNorm):
            raise SchemeError(
                f"deepnorm needs post-LN residual blocks, LN(α·x + G(x)); branch {branch.name!r} has no "
                "LayerNorm after its sum: mark it with mark_branch(..., post=layer_norm) (initlab's "
                "transformer: norm='post'; pre-LN models such as GPT-2 are not DeepNorm's)"
            )
    constants = deepnorm_constants(depths.get("encoder", 0), depths.get("decoder", 0))
    for branch in branches:
        alpha, beta = constants[branch.stack].alpha, constants[branch.stack].beta
        branch.scale_skip(alpha)
        for weight in weights_of(branch.layers):
            gain = 1.0 if weight.role in ATTENTION_QK else beta
            normal_(weight.tensor, 0.0, xavier_std(weight.tensor, gain), generator)
            _zero_bias(weight)
    return model


@register_scheme(
    "ds-init",
    family="transformer",
    keyless_defaults=("variant",),
    paper=Paper(
        "Zhang, Titov & Sennrich",
        2019,
        "Improving Deep Transformer with Depth-Scaled Initialization and Merged Attention",
        arxiv="1908.11365",
    ),
)
def ds_init(
    model: nn.Module,
    *,
    generator: torch.Generator,
    alpha: Annotated[float, Field(gt=0, le=1)] = 1.0,
    variant: Literal["paper", "code"] = "paper",
) -> nn.Module:
    """DS-Init: Xavier-uniform with the bound of a weight in layer l scaled by α/√l.

    ``variant="paper"`` (Zhang et al. 2019, eq. 6): W ~ U(−γ·α/√l, γ·α/√l), γ = √(6/(fan_in +
    fan_out)), l the 1-based index of the transformer layer (per stack) holding the weight;
    Var(W) = 2/(fan_in + fan_out)·α²/l, std ∝ l^(−1/2).

    ``variant="code"`` (the official bzhangGo/zero, which passes ``gain·(layer + 1)^(−1/2)``, layer
    0-based, as the *scale* of TensorFlow's ``variance_scaling_initializer(mode="fan_avg",
    distribution="uniform")``, a factor on the variance): W ~ U(±γ·√(α/√l)), Var(W) = 2/(fan_in +
    fan_out)·α/√l, so the std and the bound go as l^(−1/4), and α (the code's ``gain``) scales the
    variance, not the std.

    Weights outside the layers (the row embedding, the head): plain Xavier-uniform. Biases 0;
    embeddings keep their init.
    """
    _, branches = require_layer_marks(model, "ds-init")
    depth_of = {id(layer): branch.layer for branch in branches for layer in branch.layers}
    for weight in weights(model):
        depth = depth_of.get(id(weight.module))
        _xavier_uniform(weight, 1.0 if depth is None else ds_init_scale(alpha, depth, variant), generator)
    return model


def ds_init_scale(alpha: float, layer: int, variant: Literal["paper", "code"]) -> float:
    """The factor on the Xavier-uniform bound of a weight in layer ``layer`` (1-based): α/√l (paper)
    or √(α/√l) (the official code's variance scale)."""
    scale = alpha / math.sqrt(layer)
    return scale if variant == "paper" else math.sqrt(scale)


@dataclass(frozen=True)
class ParamInit:
    """One parameter of a real ``nn.TransformerEncoderLayer``: its rule, and the std measured on it."""

    name: str
    shape: tuple[int, ...]
    rule: str
    expected_mean: float
    expected_std: float
    measured_mean: float
    measured_std: float


def torch_encoder_layer_init(
    width: int = 256, heads: int = 4, ffn: int = 1024, seed: int = 0
) -> list[ParamInit]:
    """A real, seeded ``nn.TransformerEncoderLayer(256, 4, 1024)``: each parameter's rule, expected, measured.

    The table ``pytorch-transformer`` reproduces (the std the rule implies, and the std measured).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = nn.TransformerEncoderLayer(width, heads, ffn, batch_first=True)
    default_std = {width: (3 * width) ** -0.5, ffn: (3 * ffn) ** -0.5}  # U(±1/√fan_in)
    rules = {
        "self_attn.in_proj_weight": ("xavier_uniform_ on the fused (3d×d) matrix", (2 * width) ** -0.5),
        "self_attn.in_proj_bias": ("0", 0.0),
        "self_attn.out_proj.weight": ("nn.Linear default, U(±1/√d)", default_std[width]),
        "self_attn.out_proj.bias": ("0 (set by nn.MultiheadAttention)", 0.0),
        "linear1.weight": ("nn.Linear default, U(±1/√d)", default_std[width]),
        "linear1.bias": ("nn.Linear default, U(±1/√d)", default_std[width]),
        "linear2.weight": ("nn.Linear default, U(±1/√ffn)", default_std[ffn]),
        "linear2.bias": ("nn.Linear default, U(±1/√ffn)", default_std[ffn]),
    }
    rows = []
    for name, param in layer.named_parameters():
        if name.startswith("norm"):
            rule, mean, std = ("1" if name.endswith("weight") else "0"), float(name.endswith("weight")), 0.0
        else:
            (rule, std), mean = rules[name], 0.0
        data = param.detach().double()
        rows.append(
            ParamInit(name, tuple(param.shape), rule, mean, std, data.mean().item(), data.std().item())
        )
    return rows


@register_scheme(
    "pytorch-transformer",
    family="transformer",
    paper=Paper(
        "Paszke et al.",
        2019,
        "PyTorch (nn.TransformerEncoderLayer / nn.MultiheadAttention)",
        arxiv="1912.01703",
    ),
    report=torch_encoder_layer_init,
)
def pytorch_transformer(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """What PyTorch's ``nn.TransformerEncoderLayer`` does at init, applied to initlab's transformer.

    nn.MultiheadAttention keeps q, k, v in one fused (3d × d) ``in_proj_weight`` and runs
    ``xavier_uniform_`` on it: W_q, W_k, W_v ~ U(±√(6/(d + 3d))), Var = 1/(2d), half of the Xavier
    variance of a d × d matrix; in_proj_bias = 0. Its ``out_proj`` keeps nn.Linear's default,
    U(±1/√d) (Var 1/(3d)), with bias 0. linear1/linear2 keep nn.Linear's default, U(±1/√fan_in) for
    weights and biases; LayerNorm γ = 1, β = 0. Everything else here gets PyTorch's default
    (Embedding N(0, 1)). ``nn.Transformer`` (the full model) differs: it re-initialises every matrix
    of its layers with ``xavier_uniform_``. The table below (``torch_encoder_layer_init``) measures a
    real layer. A model with no query/key/value projections is refused (mark them, or a fused
    projection as ``qkv``): without them this would be ``pytorch-default``.
    """
    attentions = _attentions(model)
    if not attentions:
        raise SchemeError(
            f"pytorch-transformer initialises attention, and {type(model).__name__} has no query/key/value "
            "projections initlab can find: mark them with mark_roles(model, {'*.query': 'query', "
            "'*.key': 'key', '*.value': 'value'}), or a fused projection with role 'qkv'"
        )
    pytorch_default(model, generator=generator)
    for qkv, outs in attentions:
        fused = torch.empty(sum(w.tensor.shape[0] for w in qkv), qkv[0].tensor.shape[1])
        bound = math.sqrt(3.0) * xavier_std(fused)
        uniform_(fused, -bound, bound, generator)
        for part, weight in zip(fused.split([w.tensor.shape[0] for w in qkv]), qkv, strict=True):
            weight.tensor.copy_(part)
            _zero_bias(weight)
        for out in outs:
            _zero_bias(out)
    return model


def _attentions(model: nn.Module) -> list[tuple[list[Weight], list[Weight]]]:
    """``(q/k/v matrices, output projections)`` of each attention of ``model``.

    An attention is the innermost module that holds, itself or in its direct children, a query, a key
    and a value matrix (packed or separate; a decoder layer's self- and cross-attention are two); its
    output projections are the attn-out matrices inside it or, where it has none (BERT's sits in a
    sibling), inside its parent.
    """
    found, claimed = [], set()
    parents = {id(child): parent for parent in model.modules() for child in parent.children()}
    for name, module in reversed(list(model.named_modules())):  # every child before its parent
        near = module_weights(name, module) + [
            w for child_name, child in module.named_children() for w in module_weights(child_name, child)
        ]
        qkv = [w for w in near if w.role in QKV_ROLES and w.tensor.data_ptr() not in claimed]
        if {w.role for w in qkv} != set(QKV_ROLES):
            continue
        claimed.update(w.tensor.data_ptr() for w in qkv)
        outs = [w for w in weights(module) if w.role == ATTN_OUT]
        if not outs and id(module) in parents:
            outs = [w for w in weights(parents[id(module)]) if w.role == ATTN_OUT]
        found.append((qkv, outs))
    return found[::-1]
