"""Models built from a spec, with the layer roles that init schemes read (see ``roles``)."""

from initlab.models import cnn, mlp, resnet, torch_transformer, transformer, unet  # noqa: F401  (register the models)
from initlab.models.blocks import PadShortcut, Residual, ScalarBias, ScalarMultiplier, attach_gain
from initlab.models.branches import (
    Branch,
    branches_removed,
    mark_branch,
    mark_branches,
    require_branches,
    residual_branches,
)
from initlab.models.registry import MODELS, build_model
from initlab.models.roles import (
    find_head,
    mark_head,
    mark_roles,
    require_head,
    role_of,
    set_role,
    weight_layers,
)
from initlab.models.weights import Weight, weights

__all__ = [
    "MODELS",
    "Branch",
    "PadShortcut",
    "Residual",
    "ScalarBias",
    "ScalarMultiplier",
    "Weight",
    "attach_gain",
    "branches_removed",
    "build_model",
    "find_head",
    "mark_branch",
    "mark_branches",
    "mark_head",
    "mark_roles",
    "require_branches",
    "require_head",
    "residual_branches",
    "role_of",
    "set_role",
    "weight_layers",
    "weights",
]
