"""The probe registry: ``train(...)`` and ``initlab run --probe NAME`` attach probes by name.

A probe class registers itself with :func:`register_probe`; the keyword-only parameters of its
``__init__`` (with their type hints and defaults) are its validated params, as for schemes and models.
A param added after runs of the probe were stored is named in the class's ``keyless_defaults``: at its
default it is left out of the resolved params, so those runs keep their keys (:mod:`initlab.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from initlab.registry import Registry

if TYPE_CHECKING:
    from initlab.probes.base import Probe

P = TypeVar("P", bound="type[Probe]")

PROBES: Registry = Registry("probe")


def register_probe(cls: P) -> P:
    """Class decorator: register a :class:`~initlab.probes.base.Probe` subclass under ``cls.name``."""
    keyless = getattr(cls, "keyless_defaults", ())
    PROBES.register(cls.name, **({"keyless_defaults": keyless} if keyless else {}))(cls)
    return cls


def build_probe(name: str, **params: Any) -> Probe:
    """A new probe ``name`` with ``params`` (validated; defaults filled)."""
    entry = PROBES.get(name)
    return entry.fn(**entry.validate(params))


def build_probes(spec: Mapping[str, Mapping[str, Any]]) -> list[Probe]:
    """Probes from a ``{name: params}`` mapping such as ``RunConfig.probes``, in its order."""
    return [build_probe(name, **params) for name, params in spec.items()]
