"""Layer-wise schemes: one rule per weight tensor, applied to every Linear and Conv, plus a bias policy.

``@layerwise_scheme(name, ...)`` registers a rule ``rule(weight, *, generator, **params)`` as a scheme
that fills every weight matrix (in registration order) and sets its bias by the policy below. The
matrices are those of :func:`initlab.models.weights.weights`: every Linear and Conv, Hugging Face's
``Conv1D`` (read as ``(out, in)``), and each of W_q, W_k, W_v in ``nn.MultiheadAttention``'s packed
``in_proj_weight`` or in a layer marked ``qkv``, each its own matrix with its own fans.
Norm layers, embeddings and scalar parameters keep their values (a freshly built model
holds PyTorch's defaults there). The rule's own params become the scheme's params, followed by
``bias`` and ``bias_scale``; the rule stays importable for schemes that combine rules (Fixup, LSUV).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from initlab.models.weights import weights
from initlab.schemes.registry import Paper, register_scheme
from initlab.schemes.rules import fans
from initlab.schemes.sampling import normal_, uniform_

BiasPolicy = Literal["zeros", "keep", "normal", "uniform", "pytorch-default"]
Rule = Callable[..., None]

BIAS_DOC = """
Bias (param ``bias``): ``zeros`` (default) b = 0; ``keep`` leaves it; ``normal`` b ~ N(0, bias_scale²);
``uniform`` b ~ U(−bias_scale, bias_scale); ``pytorch-default`` b ~ U(±1/√fan_in)."""


def init_bias(
    bias: torch.Tensor | None,
    weight: torch.Tensor,
    policy: BiasPolicy,
    scale: float,
    generator: torch.Generator,
) -> None:
    """Set ``bias`` (if any) of the ``(out, in, ...)`` matrix ``weight`` by ``policy`` (see ``BIAS_DOC``)."""
    if bias is None or policy == "keep":
        return
    if policy == "zeros":
        bias.zero_()
    elif policy == "normal":
        normal_(bias, 0.0, scale, generator)
    elif policy == "uniform":
        uniform_(bias, -scale, scale, generator)
    else:
        bound = 1.0 / math.sqrt(fans(weight)[0])
        uniform_(bias, -bound, bound, generator)


def _keyword_params(rule: Rule) -> list[inspect.Parameter]:
    params = inspect.signature(rule, eval_str=True).parameters.values()
    return [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "generator"]


def _bias_params() -> list[inspect.Parameter]:
    def template(*, bias: BiasPolicy = "zeros", bias_scale: Annotated[float, Field(ge=0)] = 0.01) -> None:
        """Carries the bias params' annotations."""

    return _keyword_params(template)


def layerwise_scheme(name: str, *, family: str, paper: Paper | None) -> Callable[[Rule], Rule]:
    """Register ``rule(weight, *, generator, **params)`` as a layer-wise scheme named ``name``."""

    def decorator(rule: Rule) -> Rule:
        rule_params = _keyword_params(rule)

        def scheme(model: nn.Module, *, generator: torch.Generator, **params: object) -> nn.Module:
            policy, scale = params.pop("bias"), params.pop("bias_scale")
            for weight in weights(model):
                rule(weight.tensor, generator=generator, **params)
                init_bias(weight.bias, weight.tensor, policy, scale, generator)  # type: ignore[arg-type]
            return model

        positional = inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        generator = inspect.Parameter("generator", inspect.Parameter.KEYWORD_ONLY, annotation=torch.Generator)
        scheme.__signature__ = inspect.Signature([positional, generator, *rule_params, *_bias_params()])  # type: ignore[attr-defined]
        scheme.__doc__ = (inspect.getdoc(rule) or "") + "\n" + BIAS_DOC
        scheme.__name__ = scheme.__qualname__ = rule.__name__
        register_scheme(name, family=family, paper=paper, layerwise=True)(scheme)
        return rule

    return decorator
