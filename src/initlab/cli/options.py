"""Options shared by several commands, and the parsing of ``key=value`` params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from initlab.config import parse_assignment
from initlab.errors import ConfigError
from initlab.paths import check_output_file
from initlab.store import DEFAULT_PATH

StoreOption = typer.Option(DEFAULT_PATH, "--store", help="Results database (SQLite).", dir_okay=False)
ImportOption = typer.Option(
    None,
    "--import",
    help="Import this module first, for the models, schemes, probes or datasets it registers "
    "(repeatable; the config field `imports`; sweep workers import it too).",
)

DownloadOption = typer.Option(False, "--download", help="Allow downloading the datasets' official files.")


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


def check_plot_path(path: Path) -> None:
    """Refuse a --plot path that cannot be written, or whose suffix names no format matplotlib writes
    (it would fail only after the work, when the figure is saved)."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    suffix = path.suffix.removeprefix(".").lower()
    if suffix not in formats:
        raise ConfigError(
            f"--plot {str(path)!r} is not an image file name; allowed endings: .{', .'.join(formats)}"
        )
    check_output_file(path, "--plot file")
