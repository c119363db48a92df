"""Options shared by several commands, and the parsing of ``key=value`` params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from initlab.cli.app import console
from initlab.config import parse_assignment
from initlab.errors import ConfigError, one_of
from initlab.paths import check_output_file
from initlab.store import DEFAULT_PATH
from initlab.sweep import ENGINES, EXECUTORS, SweepInterrupted, SweepSummary

StoreOption = typer.Option(DEFAULT_PATH, "--store", help="Results database (SQLite).", dir_okay=False)
ImportOption = typer.Option(
    None,
    "--import",
    help="Import this module first, for the models, schemes, probes or datasets it registers "
    "(repeatable; the config field `imports`; sweep workers import it too).",
)


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


# -- running many runs: sweeps and studies ------------------------------------------------------

WorkersOption = typer.Option(
    None, min=1, help="Worker processes (default: one per core); for a local Ray instance, its size in runs."
)
ThreadsOption = typer.Option(None, min=1, help="torch threads per local worker (default: cores / workers).")
ExecutorOption = typer.Option("local", help="local (worker processes) | ray (Ray tasks).")
RayAddressOption = typer.Option(
    None,
    "--ray-address",
    help="An existing Ray cluster (as `ray start --head` prints; auto: this machine's).",
)
NumCpusOption = typer.Option(1.0, "--num-cpus", help="Ray: CPUs (and torch threads) per run.")
MaxRetriesOption = typer.Option(
    3, "--max-retries", min=0, help="Ray: retries of a run whose worker process died."
)
EngineOption = typer.Option("loop", help="loop (one train() per run) | vmap (seeds of one config batched).")
DownloadOption = typer.Option(False, "--download", help="Allow downloading the datasets' official files.")


def check_sweep_options(executor: str, engine: str, ray_address: str | None, num_cpus: float) -> None:
    """Refuse an executor, engine or Ray option the sweep driver would refuse, before any output."""
    if executor not in EXECUTORS:
        raise one_of("executor", executor, EXECUTORS)
    if engine not in ENGINES:
        raise one_of("engine", engine, ENGINES)
    if num_cpus <= 0:
        raise ConfigError(f"--num-cpus {num_cpus:g} is invalid: allowed > 0")
    if ray_address and executor != "ray":
        raise ConfigError(f"--ray-address needs --executor ray, not --executor {executor}")


def report_interrupted(stop: SweepInterrupted) -> int:
    """Print how far an interrupted sweep got; the exit status of Ctrl-C."""
    console.print(stop.summary.line(), highlight=False)
    console.print("interrupted: run the same command again to resume", highlight=False)
    return 130


def report_summary(summary: SweepSummary, sweep: str, store: Path) -> int:
    """Print a finished sweep's counts and failures; exit status 1 if any run failed."""
    console.print(summary.line(), highlight=False)
    for label, reason in summary.failures:
        console.print(f"  failed {label}: {reason}", highlight=False, markup=False)
    if summary.failed:
        console.print(
            f"the failed runs' tracebacks are in the store: initlab runs --sweep {sweep} --status failed "
            f"--store {store} --reasons; run the same command again to retry them",
            highlight=False,
        )
    return 1 if summary.failed else 0
