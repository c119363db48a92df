"""``initlab runs`` lists the stored runs; ``initlab export --csv DIR`` writes them out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from initlab.cli.app import app, console
from initlab.cli.options import StoreOption
from initlab.paths import check_output_folder
from initlab.store import Store, export_csv


@app.command()
def runs(
    store: Path = StoreOption,
    status: str = typer.Option(None, help="Only runs with this status (running/finished/diverged/failed)."),
    dataset: str = typer.Option(None, help="Only runs on this dataset."),
    model: str = typer.Option(None, help="Only runs of this model."),
    init: str = typer.Option(None, help="Only runs with this init scheme."),
    sweep: str = typer.Option(None, help="Only the runs of this sweep (see `initlab sweep`)."),
    last: int = typer.Option(50, min=0, help="Show the last N runs (0: all)."),
    reasons: bool = typer.Option(
        False, "--reasons", help="Print why each run diverged or failed (traceback)."
    ),
) -> None:
    """List the runs in the store, newest last."""
    with Store(store, create=False) as db:
        records = db.runs(status=status, sweep=sweep, dataset=dataset, model=model, init=init)
    shown = records[-last:] if last else records
    table = Table("id", "started", "status", "dataset", "model", "init", "seed", "epochs", "test", "seconds")
    for r in shown:
        params = ",".join(f"{k}={v}" for k, v in r.config.get("init_params", {}).items())
        acc, bpc = r.summary.get("test_accuracy"), r.summary.get("test_bpc")
        test = f"acc {acc:.4f}" if acc is not None else f"bpc {bpc:.3f}" if bpc is not None else ""
        table.add_row(
            r.id,
            dt.datetime.fromtimestamp(r.started_at).strftime("%Y-%m-%d %H:%M"),
            r.status,
            r.dataset,
            r.model,
            r.init + (f"({params})" if params else ""),
            str(r.seed),
            f"{r.summary.get('epochs', 0):.0f}/{r.config['epochs']}",
            test,
            "" if r.seconds is None else f"{r.seconds:.1f}",
        )
    console.print(table)
    if reasons:
        for r in shown:
            if r.reason:
                console.print(f"\n[bold]{r.id}[/] {r.status}:")
                console.print(r.reason.rstrip(), markup=False, highlight=False)
    console.print(f"{len(shown)} of {len(records)} runs in {store}", highlight=False)


@app.command()
def export(
    csv: Path = typer.Option(
        ..., "--csv", help="Folder to write runs.csv and metrics.csv into.", file_okay=False
    ),
    store: Path = StoreOption,
) -> None:
    """Write the store's runs, metrics and probe rows out as CSV files."""
    check_output_folder(csv, "--csv folder")
    with Store(store, create=False) as db:
        for path in export_csv(db, csv):
            console.print(f"wrote {path}", highlight=False)
