"""Options shared by several commands, and the parsing of ``key=value`` params."""

from __future__ import annotations

from typing import Any

import typer

from initlab.config import parse_assignment
from initlab.errors import ConfigError
from initlab.store import DEFAULT_PATH

StoreOption = typer.Option(DEFAULT_PATH, "--store", help="Results database (SQLite).", dir_okay=False)


def parse_params(assignments: list[str] | None) -> dict[str, Any] | None:
    """``["dist=normal", "scale=1"]`` -> ``{"dist": "normal", "scale": 1}``; None when none given."""
    if not assignments:
        return None
    return dict(parse_assignment(a) for a in assignments)


def parse_probes(names: list[str] | None, assignments: list[str] | None) -> dict[str, dict[str, Any]] | None:
    """``--probe symmetry --probe-param signal.every=10`` -> ``{"symmetry": {}, "signal": {"every": 10}}``.

    A ``NAME.key=value`` param also turns probe NAME on. None when no probe is named.
    """
    probes: dict[str, dict[str, Any]] = {name: {} for name in names or []}
    for text in assignments or []:
        target, _, _ = text.partition("=")
        name, dot, key = target.partition(".")
        if not dot or not name.strip() or not key.strip():
            raise ConfigError(f"{text!r} is not of the form NAME.key=value (e.g. symmetry.every=10)")
        key, value = parse_assignment(text[len(name) + 1 :])
        probes.setdefault(name.strip(), {})[key] = value
    return probes or None
