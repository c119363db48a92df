"""Options of the commands that run many runs (``sweep run``, ``study run``), and their outcome lines.

Kept apart from :mod:`initlab.cli.options` because it needs the sweep driver, and with it torch,
which the reading commands (``runs``, ``export``, ``report``) never import.
"""

from __future__ import annotations

from pathlib import Path

import typer

from initlab.cli.app import console
from initlab.errors import ConfigError, one_of
from initlab.sweep import ENGINES, EXECUTORS, SweepInterrupted, SweepSummary

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
