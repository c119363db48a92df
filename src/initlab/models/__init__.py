"""Models built from a spec, with the layer roles that init schemes read (see ``roles``)."""

from initlab.models import cnn, mlp  # noqa: F401  (register the models)
from initlab.models.registry import MODELS, build_model
from initlab.models.roles import find_head, mark_head, role_of, set_role, weight_layers

__all__ = ["MODELS", "build_model", "find_head", "mark_head", "role_of", "set_role", "weight_layers"]
