"""initlab: neural-network initialization schemes, instruments and reproducible studies.

The package's face is lazy (PEP 562): ``apply_init``, ``build_model``, ``load_dataset``, ``audit`` and
``assert_init`` are imported on first use, so ``import initlab.store`` (and ``initlab runs``) read
results without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from initlab.auditing import assert_init, audit
    from initlab.data import load_dataset
    from initlab.models import build_model
    from initlab.schemes import apply_init

#: Each name of the face, and the module it comes from.
_FACE = {
    "apply_init": "initlab.schemes",
    "assert_init": "initlab.auditing",
    "audit": "initlab.auditing",
    "build_model": "initlab.models",
    "load_dataset": "initlab.data",
}

__all__ = ["__version__", "apply_init", "assert_init", "audit", "build_model", "load_dataset"]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module 'initlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_FACE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_FACE])
