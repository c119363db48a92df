"""``initlab report``: one self-contained HTML report (with PNG figures and CSV tables) of stored runs."""

from __future__ import annotations

from pathlib import Path

import typer

from initlab.cli.app import app, console
from initlab.cli.options import StoreOption
from initlab.paths import check_output_folder


@app.command()
def report(
    store: Path = StoreOption,
    out: Path = typer.Option(
        Path("results/report"), "--out", help="Folder for report.html, PNGs and CSVs.", file_okay=False
    ),
    dataset: str = typer.Option(None, help="Only runs on this dataset."),
    model: str = typer.Option(None, help="Only runs of this model."),
    init: str = typer.Option(None, help="Only runs with this init scheme."),
    metric: str = typer.Option(
        "test_accuracy", help="Metric to report, SPLIT_NAME (e.g. val_accuracy, test_loss)."
    ),
    title: str = typer.Option(None, help="The report's title."),
) -> None:
    """Report the store's runs: curves and final values (mean ± 95% CI over seeds) per condition."""
    from initlab.report import report_store

    check_output_folder(out, "--out folder")
    path = report_store(store, out, dataset=dataset, model=model, init=init, metric=metric, title=title)
    console.print(str(path), highlight=False, soft_wrap=True)
