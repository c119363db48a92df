"""Resolving a run config against the registries: the step between a validated config and a run.

:class:`~initlab.config.RunConfig` checks its fields alone. Whether ``dataset``, ``model``, ``init``
and the keys of ``probes`` name registered entries, and what their params mean, only the registries
know, and they live above the config (the probes registry builds on training's callbacks). So the
layer that runs configs resolves them: each name is looked up and its params are coerced, with
defaults filled, so that two configs that mean the same run have the same key. ``train``, the batched
engine, sweeps and the CLI resolve every config before they key or run it; resolving twice changes
nothing.
"""

from __future__ import annotations

from typing import Any

from initlab.config import RunConfig
from initlab.data import DATASETS
from initlab.errors import ConfigError
from initlab.imports import import_modules
from initlab.models import MODELS
from initlab.models.registry import model_source
from initlab.probes import PROBES
from initlab.schemes import SCHEMES


def resolve_config(config: RunConfig, *, registered_model: bool = True) -> RunConfig:
    """``config`` with every name checked against its registry and every params table resolved.

    ``registered_model=False`` leaves ``model`` and ``model_params`` as they are: the run trains a
    module the caller built (``train(config, model=...)``), which no registry knows. An unknown name
    or a bad param raises one ConfigError naming it and what is allowed. The config's ``imports`` are
    imported first, for what they register; a user's model gets the hash of its module's source in
    ``model_source`` (a value already there must match it).
    """
    import_modules(config.imports)
    fields: list[tuple[str, Any]] = [("dataset", DATASETS), ("init", SCHEMES)]
    if registered_model:
        fields.insert(1, ("model", MODELS))
    updates: dict[str, Any] = {
        f"{name}_params": registry.get(getattr(config, name)).validate(getattr(config, f"{name}_params"))
        for name, registry in fields
    }
    if registered_model:
        source = model_source(config.model)
        if config.model_source not in (None, source):
            raise ConfigError(
                f"model_source={config.model_source!r} is not the source of model {config.model!r} "
                f"(now {source!r}): its module changed; drop model_source to use it as it is"
            )
        updates["model_source"] = source
    updates["probes"] = {name: PROBES.get(name).validate(params) for name, params in config.probes.items()}
    return config.model_copy(update=updates)
