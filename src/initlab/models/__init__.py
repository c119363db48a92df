"""Models built from a spec, with the layer roles that init schemes read (see ``roles``)."""

from initlab.models import cnn, mlp, resnet, transformer  # noqa: F401  (register the models)
from initlab.models.blocks import PadShortcut, Residual, ScalarBias, ScalarMultiplier
from initlab.models.registry import MODELS, build_model
from initlab.models.roles import (
    Branch,
    branches_removed,
    find_head,
    mark_head,
    require_branches,
    require_head,
    residual_branches,
    role_of,
    set_role,
    weight_layers,
)

__all__ = [
    "MODELS",
    "Branch",
    "PadShortcut",
    "Residual",
    "ScalarBias",
    "ScalarMultiplier",
    "branches_removed",
    "build_model",
    "find_head",
    "mark_head",
    "require_branches",
    "require_head",
    "residual_branches",
    "role_of",
    "set_role",
    "weight_layers",
]
