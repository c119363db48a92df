"""``initlab study list|run|report``: the seed documents' claims, reproduced from one command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from initlab.cli.app import app, console
from initlab.cli.options import DownloadOption, StoreOption
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
from initlab.errors import one_of
from initlab.paths import check_output_folder
from initlab.report import Claim
from initlab.report.html import format_cell
from initlab.store import check_store
from initlab.studies import PRESETS, STUDIES, Preset, StudyReport, get_study, report_study, run_study
from initlab.sweep import SweepInterrupted, expand

study_app = typer.Typer(
    help="Named studies: run a preset, check its claims, write its report.", no_args_is_help=True
)
app.add_typer(study_app, name="study")

NameArgument = typer.Argument(..., help="The study's name (see `initlab study list`).")
PresetOption = typer.Option("quick", help="quick (CPU, minutes: subsets, fewer epochs and seeds) | full.")
OutOption = typer.Option(
    None, "--out", help="Report folder (default: studies/<name>-<preset>/ beside the store)."
)
PartOption = typer.Option(
    None,
    "--part",
    help="Run only this sweep of the study (repeatable; e.g. mnist-fnn); the report uses every stored run.",
)
CompileOption = typer.Option(
    False,
    "--compile",
    help="Train every run through torch.compile: runs of their own, equal up to float rounding.",
)
FusedOption = typer.Option(
    False,
    "--fused-optimizer",
    help="Step every run's optimizer with its fused kernel (equal up to float rounding).",
)
VERDICT_STYLE = {"holds": "green", "fails": "red", "inconclusive": "yellow"}


def _preset(preset: str) -> Preset:
    if preset not in PRESETS:
        raise one_of("preset", preset, PRESETS)
    return preset  # type: ignore[return-value]


def _speed(compile_: bool, fused_optimizer: bool) -> tuple[str, ...]:
    """The speed options the flags turn on (see ``Study.configs``)."""
    return tuple(name for name, on in (("compile", compile_), ("fused_optimizer", fused_optimizer)) if on)


def _check_out(out: Path | None) -> None:
    """Refuse an --out folder that cannot be written before any work starts."""
    if out is not None:
        check_output_folder(out, "--out folder")


def _numbers(claim: Claim) -> str:
    """A claim's numbers as the report's table shows them (4 significant digits; NaN, e.g. of runs
    not finished yet, as —)."""
    return ", ".join(f"{k} {format_cell(v)}" for k, v in claim.numbers.items())


def show_report(result: StudyReport) -> None:
    """The claims table and the report's path."""
    table = Table("claim", "verdict", "numbers", title="claims", title_justify="left")
    for claim in result.claims:
        table.add_row(  # Text: a claim's "[...]" is data, not rich markup
            Text(claim.statement),
            Text(claim.verdict, style=VERDICT_STYLE[claim.verdict]),
            Text(_numbers(claim)),
        )
    console.print(table)
    counts = {v: sum(c.verdict == v for c in result.claims) for v in VERDICT_STYLE}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()), highlight=False)
    console.print(f"report: {result.path}", highlight=False)


@study_app.command("list")
def list_studies() -> None:
    """The studies, with their question, the number of runs of each preset and their parts (--part)."""
    for study in (entry.fn for entry in STUDIES):
        runs = ", ".join(f"{p} {sum(len(expand(s)) for s in study.specs(p))} runs" for p in PRESETS)
        parts = ", ".join(spec.name.rsplit("/", 1)[1] for spec in study.specs("quick"))
        line = Text(f"{study.name:<16}", style="bold")
        line.append(f"{study.question}  ")
        line.append(f"({runs}; parts {parts})", style="dim")
        console.print(line)


@study_app.command("run")
def run(
    name: str = NameArgument,
    preset: str = PresetOption,
    part: list[str] = PartOption,
    workers: int = WorkersOption,
    threads: int = ThreadsOption,
    executor: str = ExecutorOption,
    ray_address: str = RayAddressOption,
    num_cpus: float = NumCpusOption,
    max_retries: int = MaxRetriesOption,
    engine: str = EngineOption,
    store: Path = StoreOption,
    download: bool = DownloadOption,
    out: Path = OutOption,
    compile_: bool = CompileOption,
    fused_optimizer: bool = FusedOption,
) -> int:
    """Run (or resume) a study's runs, then check its claims and write its report."""
    study, chosen, speed = get_study(name), _preset(preset), _speed(compile_, fused_optimizer)
    check_sweep_options(executor, engine, ray_address, num_cpus)
    check_store(store, create=True)
    _check_out(out)
    console.print(f"study {study.name!r}, preset {chosen}: {study.question}", highlight=False)
    try:
        summary = run_study(
            study.name,
            chosen,
            store,
            parts=part or None,
            workers=workers,
            threads=threads,
            executor=executor,
            engine=engine,
            ray_address=ray_address,
            num_cpus=num_cpus,
            max_retries=max_retries,
            download=download,
            console=console,
            speed=speed,
        )
    except SweepInterrupted as stop:
        return report_interrupted(stop)
    status = report_summary(summary, study.sweep_name(chosen, part or None), store)
    show_report(report_study(study.name, chosen, store, out))
    return status


@study_app.command("report")
def report(
    name: str = NameArgument, preset: str = PresetOption, store: Path = StoreOption, out: Path = OutOption
) -> None:
    """Check a study's claims on the runs in the store and write its report."""
    study, chosen = get_study(name), _preset(preset)
    _check_out(out)
    show_report(report_study(study.name, chosen, store, out))
