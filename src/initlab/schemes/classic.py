"""The classic family: constant and random fills, the variance-preserving rules, orthogonal and identity.

All but ``pytorch-default`` are layer-wise (see :mod:`initlab.schemes.layerwise`): they set the weight
of every Linear and Conv layer by the formula in their docstring, the bias by the ``bias`` policy, and
leave every other parameter as it is. Fans follow :mod:`initlab.schemes.rules`.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from initlab.errors import ConfigError, SchemeError
from initlab.models.roles import WEIGHT_LAYER_TYPES
from initlab.schemes.layerwise import layerwise_scheme
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.rules import FanAvgMode, FanMode, Nonlinearity, fan, fans, gain, he_std, xavier_std
from initlab.schemes.sampling import (
    TRUNC2_STD,
    fork_seed,
    normal_,
    orthogonal_,
    trunc_normal_,
    uniform_,
)

Positive = Annotated[float, Field(gt=0)]

LECUN = Paper(
    "LeCun, Bottou, Orr & Müller", 1998, "Efficient BackProp", url="https://doi.org/10.1007/3-540-49430-8_2"
)
GLOROT = Paper(
    "Glorot & Bengio",
    2010,
    "Understanding the difficulty of training deep feedforward neural networks",
    url="https://proceedings.mlr.press/v9/glorot10a.html",
)
HE = Paper("He, Zhang, Ren & Sun", 2015, "Delving Deep into Rectifiers", arxiv="1502.01852")
PYTORCH = Paper("Paszke et al.", 2019, "PyTorch (nn.Linear/nn.ConvNd reset_parameters)", arxiv="1912.01703")


def post_order(model: nn.Module) -> list[nn.Module]:
    """Modules with children before their parents: the order in which constructors initialise them."""
    ordered: list[nn.Module] = []

    def visit(module: nn.Module) -> None:
        for child in module.children():
            visit(child)
        ordered.append(module)

    visit(model)
    return ordered


@register_scheme("pytorch-default", family="classic", paper=PYTORCH, layerwise=True)
def pytorch_default(model: nn.Module, *, generator: torch.Generator) -> nn.Module:
    """PyTorch's own default init, redrawn with the run's generator.

    Linear and ConvNd: ``kaiming_uniform_(W, a=√5)``, i.e. W ~ U(−1/√fan_in, 1/√fan_in),
    Var(W) = 1/(3·fan_in); bias ~ U(−1/√fan_in, 1/√fan_in). Every other module with its own
    ``reset_parameters`` (norm layers, embeddings) or ``_reset_parameters`` (``nn.MultiheadAttention``:
    Xavier-uniform on the packed q/k/v, zero biases; ``nn.Transformer``: Xavier-uniform on every
    matrix) runs it with a seed drawn from the generator. Children are reset before their parents,
    as their constructors run.
    """
    for module in post_order(model):
        if isinstance(module, WEIGHT_LAYER_TYPES):
            bound = 1.0 / math.sqrt(fans(module.weight)[0])
            uniform_(module.weight, -bound, bound, generator)
            if module.bias is not None:
                uniform_(module.bias, -bound, bound, generator)
        elif reset_method(module) is not None:
            reset_on_cpu(module, fork_seed(generator))
    return model


def reset_method(module: nn.Module) -> str | None:
    """The name of the module's own reset: ``reset_parameters``, or ``_reset_parameters`` (torch's
    attention and transformer modules); None without one."""
    return next(
        (n for n in ("reset_parameters", "_reset_parameters") if callable(getattr(module, n, None))), None
    )


def reset_on_cpu(module: nn.Module, seed: int) -> None:
    """The module's own reset (:func:`reset_method`) with the CPU RNG seeded by ``seed``, on the CPU.

    A module on another device is reset as a CPU copy whose state is copied back, so its init does
    not depend on the device it lives on; the global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        own = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
        method = reset_method(module)
        if all(t.device.type == "cpu" for t in own):
            getattr(module, method)()
            return
        twin = copy.deepcopy(module).cpu()
        getattr(twin, method)()
        for target, drawn in zip(module.state_dict().values(), twin.state_dict().values(), strict=True):
            target.copy_(drawn)


@layerwise_scheme("zeros", family="classic", paper=None)
def zeros(weight: torch.Tensor, *, generator: torch.Generator) -> None:
    """Every weight (and, by the default bias policy, every bias) of every Linear and Conv layer is 0.

    Norm layers keep γ = 1, β = 0. The textbook pitfall: all units of a layer compute the same
    function and, with equal outgoing weights, receive the same gradient forever.
    """
    weight.zero_()


@layerwise_scheme("constant", family="classic", paper=None)
def constant(weight: torch.Tensor, *, generator: torch.Generator, value: float = 0.01) -> None:
    """W = ``value`` everywhere: every unit of a layer computes the same function (symmetric, like zeros)."""
    weight.fill_(value)


@layerwise_scheme("normal", family="classic", paper=None)
def normal(
    weight: torch.Tensor, *, generator: torch.Generator, mean: float = 0.0, std: Positive = 0.01
) -> None:
    """W ~ N(mean, std²), whatever the layer's size (the pre-2010 "Gaussian 0.01" init)."""
    normal_(weight, mean, std, generator)


@layerwise_scheme("uniform", family="classic", paper=None)
def uniform(
    weight: torch.Tensor, *, generator: torch.Generator, low: float = -0.05, high: float = 0.05
) -> None:
    """W ~ U[low, high), whatever the layer's size (Keras' RandomUniform default is ±0.05)."""
    if not low < high:
        raise ConfigError(f"uniform needs low < high, got low={low}, high={high}")
    uniform_(weight, low, high, generator)


@layerwise_scheme("lecun-normal", family="classic", paper=LECUN)
def lecun_normal(weight: torch.Tensor, *, generator: torch.Generator) -> None:
    """W ~ N(0, 1/fan_in): Var(W) = 1/fan_in (LeCun et al. 1998).

    Plain normal, as torch's ``kaiming_normal_(nonlinearity='linear')``. Keras', JAX's and timm's
    ``lecun_normal`` draw a normal truncated at ±2σ instead (rescaled by 1/0.8796 to keep the variance):
    that is ``variance-scaling`` with ``distribution=truncated_normal``.
    """
    normal_(weight, 0.0, 1.0 / math.sqrt(fans(weight)[0]), generator)


@layerwise_scheme("lecun-uniform", family="classic", paper=LECUN)
def lecun_uniform(weight: torch.Tensor, *, generator: torch.Generator) -> None:
    """W ~ U(−√(3/fan_in), √(3/fan_in)): Var(W) = 1/fan_in (LeCun et al. 1998)."""
    bound = math.sqrt(3.0 / fans(weight)[0])
    uniform_(weight, -bound, bound, generator)


@layerwise_scheme("xavier-normal", family="classic", paper=GLOROT)
def xavier_normal(weight: torch.Tensor, *, generator: torch.Generator, gain: Positive = 1.0) -> None:
    """W ~ N(0, gain²·2/(fan_in + fan_out)) (Glorot & Bengio 2010; torch's ``xavier_normal_``).

    Not truncated; JAX's ``glorot_normal`` is truncated (``variance-scaling`` with
    ``mode=fan_avg, distribution=truncated_normal``).
    """
    normal_(weight, 0.0, xavier_std(weight, gain), generator)


@layerwise_scheme("xavier-uniform", family="classic", paper=GLOROT)
def xavier_uniform(weight: torch.Tensor, *, generator: torch.Generator, gain: Positive = 1.0) -> None:
    """W ~ U(−a, a), a = gain·√(6/(fan_in + fan_out)): Var(W) = gain²·2/(fan_in + fan_out)."""
    bound = math.sqrt(3.0) * xavier_std(weight, gain)
    uniform_(weight, -bound, bound, generator)


@layerwise_scheme("he-normal", family="classic", paper=HE)
def he_normal(
    weight: torch.Tensor,
    *,
    generator: torch.Generator,
    mode: FanMode = "fan_in",
    nonlinearity: Nonlinearity = "relu",
    negative_slope: Annotated[float, Field(ge=0)] = 0.01,
) -> None:
    """W ~ N(0, g²/fan), fan = fan_in or fan_out (He et al. 2015; torch's ``kaiming_normal_``).

    g is the nonlinearity's gain: relu √2, leaky_relu √(2/(1 + a²)) with a = ``negative_slope``,
    tanh 5/3, sigmoid / linear / selu 1 (see ``initlab.schemes.rules.gain``).
    """
    normal_(weight, 0.0, he_std(weight, mode, gain(nonlinearity, negative_slope)), generator)


@layerwise_scheme("he-uniform", family="classic", paper=HE)
def he_uniform(
    weight: torch.Tensor,
    *,
    generator: torch.Generator,
    mode: FanMode = "fan_in",
    nonlinearity: Nonlinearity = "relu",
    negative_slope: Annotated[float, Field(ge=0)] = 0.01,
) -> None:
    """W ~ U(−g·√(3/fan), g·√(3/fan)): Var(W) = g²/fan (He et al. 2015; torch's ``kaiming_uniform_``).

    Gains as in ``he-normal``. PyTorch's default is this with leaky_relu, a = √5: Var = 1/(3·fan_in).
    """
    bound = math.sqrt(3.0) * he_std(weight, mode, gain(nonlinearity, negative_slope))
    uniform_(weight, -bound, bound, generator)


@layerwise_scheme(
    "orthogonal",
    family="classic",
    paper=Paper(
        "Saxe, McClelland & Ganguli",
        2014,
        "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks",
        arxiv="1312.6120",
    ),
)
def orthogonal(weight: torch.Tensor, *, generator: torch.Generator, gain: Positive = 1.0) -> None:
    """W = gain·Q: Q from the QR decomposition of a Gaussian matrix, columns' signs set by diag(R).

    Convs are flattened to (out, in·k·k). Rows are orthonormal when out ≤ in, columns when out > in.
    """
    orthogonal_(weight, gain, generator)


@layerwise_scheme("trunc-normal", family="classic", paper=None)
def trunc_normal(
    weight: torch.Tensor,
    *,
    generator: torch.Generator,
    mean: float = 0.0,
    std: Positive = 0.02,
    cutoff: Positive = 2.0,
) -> None:
    """W ~ N(mean, std²) truncated to mean ± cutoff·std (the cut in units of std, as in JAX and TF).

    The resulting std is std·√(1 − 2cφ(c)/(2Φ(c) − 1)), c = cutoff: 0.8796·std for c = 2. torch's
    ``trunc_normal_(std=0.02)`` cuts at the absolute values ±2 (a = −2, b = 2), i.e. at ±100σ: no
    truncation at all, a common surprise (timm's ViT init inherits it).
    """
    trunc_normal_(weight, mean, std, cutoff, generator)


@layerwise_scheme("variance-scaling", family="classic", paper=None)
def variance_scaling(
    weight: torch.Tensor,
    *,
    generator: torch.Generator,
    scale: Positive = 1.0,
    mode: FanAvgMode = "fan_in",
    distribution: Literal["normal", "uniform", "truncated_normal"] = "truncated_normal",
) -> None:
    """Var(W) = scale/fan, fan = fan_in, fan_out or (fan_in + fan_out)/2 (Keras, JAX, timm).

    normal: N(0, scale/fan); uniform: U(±√(3·scale/fan)); truncated_normal: a normal with
    std = √(scale/fan)/0.87962566 cut at ±2 of its std, so the final variance is scale/fan (the
    constant is the std of a standard normal truncated to [−2, 2]). scale 1 + fan_in is LeCun,
    2 + fan_in He, 1 + fan_avg Glorot.
    """
    std = math.sqrt(scale / fan(weight, mode))
    if distribution == "normal":
        normal_(weight, 0.0, std, generator)
    elif distribution == "uniform":
        uniform_(weight, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)
    else:
        trunc_normal_(weight, 0.0, std / TRUNC2_STD, 2.0, generator)


def _identity(weight: torch.Tensor, groups: int) -> None:
    if weight.dim() == 2:
        nn.init.eye_(weight)
        return
    if weight.shape[0] % groups:
        raise SchemeError(f"dirac: groups={groups} does not divide the {weight.shape[0]} output channels")
    nn.init.dirac_(weight, groups)


@layerwise_scheme(
    "identity",
    family="classic",
    paper=Paper(
        "Le, Jaitly & Hinton",
        2015,
        "A Simple Way to Initialize Recurrent Networks of Rectified Linear Units",
        arxiv="1504.00941",
    ),
)
def identity(weight: torch.Tensor, *, generator: torch.Generator) -> None:
    """W = I where the shapes allow: Linear eye, Conv the Dirac delta (deterministic).

    Linear: W[i, j] = 1 if i = j else 0 (out ≠ in: a partial identity, torch's ``eye_``); Conv: the
    Dirac delta (torch's ``dirac_``), input channel i copied to output channel i by the centre tap.
    Units beyond min(out, in) start identical (all zero): expanding layers stay degenerate (ZerO's
    Theorem 1), which ``zero`` avoids with Hadamard matrices.
    """
    _identity(weight, 1)


@layerwise_scheme(
    "dirac",
    family="classic",
    paper=Paper(
        "Zagoruyko & Komodakis",
        2017,
        "DiracNets: Training Very Deep Neural Networks Without Skip-Connections",
        arxiv="1706.00388",
    ),
)
def dirac(
    weight: torch.Tensor, *, generator: torch.Generator, groups: Annotated[int, Field(ge=1)] = 1
) -> None:
    """Conv W = Dirac delta: W[o, i, centre] = 1 for o ≡ i within each of ``groups`` groups, else 0.

    torch's ``dirac_(W, groups)``: a conv that copies its input channels (out > in: the extra channels
    are 0). A Linear layer, a conv with a 1-tap kernel, gets the identity matrix (``eye_``).
    """
    _identity(weight, groups)
