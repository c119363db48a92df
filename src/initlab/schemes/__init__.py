"""Init schemes: a registry of published schemes, applied in place with ``apply_init``.

One module per family: ``classic`` (constant, random, variance-preserving, orthogonal, identity),
``seed`` (zero weights, random biases), ``residual`` (Fixup, SkipInit, ReZero, zero-last-*),
``transformer`` (GPT-2, T-Fixup, DeepNorm, DS-Init, PyTorch's own), ``admin`` (Admin's ω),
``torch_transformer`` (PyTorch's cloned layers and ``nn.Transformer``'s re-init), ``zero`` (ZerO),
``data_dependent`` (LSUV) and ``compose`` (a body scheme with per-role overrides). Importing them
registers the schemes, in this order (the order of ``initlab schemes``).
"""

from initlab.schemes import classic, seed, residual, transformer, admin, torch_transformer  # noqa: F401, I001
from initlab.schemes import zero, diffusion, data_dependent, compose  # noqa: F401
from initlab.schemes.registry import SCHEMES, Paper, apply_init, register_scheme, takes_data

__all__ = ["SCHEMES", "Paper", "apply_init", "register_scheme", "takes_data"]
