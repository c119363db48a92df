"""initlab: neural-network initialization schemes, instruments and reproducible studies."""

__version__ = "0.1.0"

from initlab.data import load_dataset
from initlab.models import build_model
from initlab.schemes import apply_init

__all__ = ["__version__", "apply_init", "build_model", "load_dataset"]
