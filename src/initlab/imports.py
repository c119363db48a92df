"""Importing the user's code: ``package.module:factory`` paths, ``--import`` modules and plugins.

A name with a colon is an import path (``examples.my_models:small_resnet``): the module is imported
and the attribute after the colon taken from it. Modules are looked up from the current directory
first, then the installed packages, as ``python -m`` does (the ``initlab`` console script alone would
not see the current directory). Each problem is one :class:`~initlab.errors.ConfigError` naming the
module or attribute: a module that is not found, one that raises while it is imported, an attribute
the module lacks.

Installed packages add models, schemes, probes or datasets through the ``initlab.plugins`` entry
point group: each entry names a module, imported, or a function, called with no arguments; they are
loaded once, the first time a registry is asked for a name it lacks or for its list.

Sweep workers are fresh processes: they get :func:`search_path` (the driver's ``sys.path``, absolute)
so that they import the same modules the driver did.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from initlab.errors import ConfigError

PLUGIN_GROUP = "initlab.plugins"

_plugins_loaded = False


def is_import_path(name: str) -> bool:
    """Whether ``name`` is an import path ``package.module:attribute`` rather than a registered name."""
    return ":" in name


def import_module(name: str) -> ModuleType:
    """Import module ``name`` (the current directory first on the path); a ConfigError if it is not
    found or raises while it is imported."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise ConfigError(f"{name!r} is not a module name: use dotted identifiers, e.g. examples.my_models")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise ConfigError(
                f"module {name!r} not found (looked in {cwd} and the installed packages)"
            ) from None
        raise ConfigError(f"importing module {name!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"importing module {name!r} failed: {type(exc).__name__}: {exc}") from None


def import_modules(names: Iterable[str]) -> None:
    """Import each module of ``names`` (e.g. a config's ``imports``), for what it registers."""
    for name in names:
        import_module(name)


def import_object(path: str) -> Any:
    """The object at import path ``package.module:attribute`` (the attribute may be dotted)."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute or ":" in attribute:
        raise ConfigError(f"{path!r} is not an import path: use package.module:attribute")
    obj: Any = import_module(module_name)
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"module {module_name!r} has no attribute {attribute!r}") from None
    return obj


def source_hash(module_name: str) -> str | None:
    """The first 16 hex digits of the SHA-256 of the source file of imported module ``module_name``
    (None when it is not imported or has no file, e.g. a built-in module)."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if file is None:
        return None
    return hashlib.sha256(Path(file).read_bytes()).hexdigest()[:16]


def load_plugins() -> None:
    """Load the ``initlab.plugins`` entry points, once per process."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = entry.load()
            if not isinstance(loaded, ModuleType):
                loaded()
        except Exception as exc:
            raise ConfigError(
                f"plugin {entry.name!r} ({entry.value}) of group {PLUGIN_GROUP!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from None


def search_path() -> list[str]:
    """This process's ``sys.path`` with every entry absolute (``''`` is the current directory): the
    path a worker process needs to import what this one can."""
    return list(dict.fromkeys(os.path.abspath(p) if p else os.getcwd() for p in sys.path))
