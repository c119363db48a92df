"""Options shared by several commands, and the parsing of ``key=value`` params."""

from __future__ import annotations

from typing import Any

import typer

from initlab.config import parse_assignment
from initlab.store import DEFAULT_PATH

StoreOption = typer.Option(DEFAULT_PATH, "--store", help="Results database (SQLite).", dir_okay=False)


def parse_params(assignments: list[str] | None) -> dict[str, Any] | None:
    """``["dist=normal", "scale=1"]`` -> ``{"dist": "normal", "scale": 1}``; None when none given."""
    if not assignments:
        return None
    return dict(parse_assignment(a) for a in assignments)
