"""initlab: neural-network initialization schemes, instruments and reproducible studies."""

__version__ = "0.1.0"

from initlab.auditing import assert_init, audit
from initlab.data import load_dataset
from initlab.models import build_model
from initlab.schemes import apply_init

__all__ = ["__version__", "apply_init", "assert_init", "audit", "build_model", "load_dataset"]
