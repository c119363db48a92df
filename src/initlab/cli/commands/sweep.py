"""``initlab sweep plan|run``: grids of runs from a sweep file or options, run in parallel, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from initlab.cli.app import app, console
from initlab.cli.options import DownloadOption, ImportOption, StoreOption
from initlab.cli.sweep_options import (
    EngineOption,
    ExecutorOption,
    MaxRetriesOption,
    NumCpusOption,
    RayAddressOption,
    ThreadsOption,
    WorkersOption,
    check_sweep_options,
    report_interrupted,
    report_summary,
)
from initlab.config import parse_assignment
from initlab.errors import ConfigError
from initlab.store import Store, check_store
from initlab.store.export import flatten
from initlab.sweep import SweepInterrupted, SweepSpec, expand, load_sweep, parse_axis, run_sweep
from initlab.sweep import plan as plan_points
from initlab.sweep.jobs import make_jobs

sweep_app = typer.Typer(
    help="Grids of runs × seeds: plan them, run them in parallel (locally or on Ray), resume.",
    no_args_is_help=True,
)
app.add_typer(sweep_app, name="sweep")

SweepArgument = typer.Argument(
    None, help="Sweep file (TOML): name, base table, axes table, zip groups.", dir_okay=False
)
NameOption = typer.Option(None, "--name", help="The sweep's name (default: the file's name).")
SetOption = typer.Option(None, "--set", help="Base config field key=value, e.g. epochs=5 (repeatable).")
AxisOption = typer.Option(
    None, "--axis", help="Axis name=values: a TOML array, a,b,c, or an inclusive range 0..4 (repeatable)."
)
ZipOption = typer.Option(None, "--zip", help="Axes that move together, e.g. optimizer,lr (repeatable).")


def _spec(
    sweep: Path | None,
    name: str | None,
    sets: list[str] | None,
    axes: list[str] | None,
    zips: list[str] | None,
    imports: list[str] | None,
) -> SweepSpec:
    """The sweep from the file and the options (``--import`` modules go to the base's ``imports``)."""
    if sweep is None and not axes and not sets:
        raise ConfigError(
            "give a sweep file, or the sweep as options: --set key=value and --axis name=values"
        )
    return load_sweep(
        sweep,
        name=name,
        base=dict(parse_assignment(a) for a in sets or []) | ({"imports": imports} if imports else {}),
        axes=dict(parse_axis(a) for a in axes or []),
        zip=[[a.strip() for a in group.split(",")] for group in zips or []],
    )


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in flatten(value).items())
    return str(value)


@sweep_app.command()
def plan(
    sweep: Path = SweepArgument,
    name: str = NameOption,
    set_: list[str] = SetOption,
    axis: list[str] = AxisOption,
    zip_: list[str] = ZipOption,
    import_: list[str] = ImportOption,
    engine: str = EngineOption,
    store: Path = StoreOption,
) -> None:
    """Print the sweep's runs, each with its key and its status in the store."""
    spec = _spec(sweep, name, set_, axis, zip_, import_)
    points = plan_points(spec)
    statuses = {}
    if store.exists():
        with Store(store, create=False) as db:
            statuses = db.key_statuses([p.key for p in points])
    table = Table("#", "key", "status", *spec.axes, "run")
    for point in points:
        status = statuses.get(point.key, "")
        table.add_row(
            str(point.index),
            point.key,
            status,
            *(_show(point.values[a]) for a in spec.axes),
            point.config.label(),
        )
    console.print(table)
    done = [p for p in points if statuses.get(p.key) in ("finished", "diverged")]
    todo = [p.config for p in points if p not in done]
    jobs = make_jobs(todo, [str(i) for i in range(len(todo))], engine)
    line = f"sweep {spec.name!r}: {len(points)} runs, {len(done)} done, {len(todo)} to run"
    if engine != "loop":
        line += f" as {len(jobs)} {engine} jobs"
    console.print(line + f" (store {store})", highlight=False)


@sweep_app.command("run")
def run_sweep_command(
    sweep: Path = SweepArgument,
    name: str = NameOption,
    set_: list[str] = SetOption,
    axis: list[str] = AxisOption,
    zip_: list[str] = ZipOption,
    import_: list[str] = ImportOption,
    workers: int = WorkersOption,
    threads: int = ThreadsOption,
    executor: str = ExecutorOption,
    ray_address: str = RayAddressOption,
    num_cpus: float = NumCpusOption,
    max_retries: int = MaxRetriesOption,
    engine: str = EngineOption,
    store: Path = StoreOption,
    download: bool = DownloadOption,
) -> int:
    """Run the sweep's runs not yet finished or diverged in the store, and print the outcome."""
    check_sweep_options(executor, engine, ray_address, num_cpus)
    spec = _spec(sweep, name, set_, axis, zip_, import_)
    configs = expand(spec)
    check_store(store, create=True)
    where = f"{executor}" + (f" at {ray_address}" if ray_address else "")
    console.print(
        f"sweep {spec.name!r}: {len(configs)} runs, engine {engine}, executor {where}", highlight=False
    )
    try:
        summary = run_sweep(
            configs,
            store,
            name=spec.name,
            spec=spec.model_dump(mode="json"),
            workers=workers,
            threads=threads,
            executor=executor,
            engine=engine,
            ray_address=ray_address,
            num_cpus=num_cpus,
            max_retries=max_retries,
            download=download,
            console=console,
        )
    except SweepInterrupted as stop:
        return report_interrupted(stop)
    return report_summary(summary, spec.name, store)
