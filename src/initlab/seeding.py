"""One integer seed per run, and every generator derived from it.

Each purpose (init, the batch a data-dependent init reads, shuffling, the validation split, dropout)
gets its own stream, so changing how one is used — say, a longer run drawing more permutations —
never shifts the others.
"""

from __future__ import annotations

import hashlib

import torch

PURPOSES = ("init", "init-data", "shuffle", "split", "dropout", "augment", "timesteps", "noise")


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for ``purpose``, a pure function of (seed, purpose)."""
    digest = hashlib.sha256(f"initlab:{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator(seed: int, purpose: str) -> torch.Generator:
    """A CPU generator for ``purpose``, seeded by :func:`derive_seed`."""
    return torch.Generator().manual_seed(derive_seed(seed, purpose))
