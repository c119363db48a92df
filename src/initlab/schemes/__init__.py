"""Init schemes: a registry of published schemes, applied in place with ``apply_init``."""

from initlab.schemes import basic, seed  # noqa: F401  (register the schemes)
from initlab.schemes.registry import SCHEMES, Paper, apply_init, register_scheme

__all__ = ["SCHEMES", "Paper", "apply_init", "register_scheme"]
