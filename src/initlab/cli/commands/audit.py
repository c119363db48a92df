"""``initlab audit``: what init each parameter of a model actually has, and what a scheme expects.

``initlab audit --model NAME [--model-param k=v] [--init SCHEME [--init-param k=v]] [--csv F] [--json F]``
builds the model as its factory does (its own init) and prints one row per parameter (role, shape,
fans, mean, std, min, max, zero/constant; with ``--init``, the std the scheme expects, the ratio and
whether the parameter matches) and the findings (copied layers, packed q/k/v, identical units; with
``--dataset``, dead and saturated units on a batch of it, the model built for its shape). With
``--init``, the exit status is 1 when a parameter does not have the scheme's init.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from initlab.auditing import Audit, audit
from initlab.cli.app import app, console
from initlab.cli.options import DownloadOption, parse_params
from initlab.data import load_dataset
from initlab.errors import ConfigError
from initlab.models import build_model

COLUMNS = ("name", "role", "shape", "fan_in", "fan_out", "mean", "std", "min", "max", "expected_std", "ratio")


def _cell(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print(result: Audit) -> None:
    table = Table(title="parameters", title_justify="left")
    table.add_column("name", no_wrap=True)
    for column in (*COLUMNS[1:], "zero/const", "ok", "note"):
        table.add_column(column)
    for row in result.rows:
        fields = asdict(row)
        kind = "zero" if row.zero else ("constant" if row.constant else "")
        ok = "" if row.ok is None else ("yes" if row.ok else "[red]NO[/]")
        table.add_row(*(_cell(fields[c]) for c in COLUMNS), kind, ok, row.note)
    console.print(table)
    for finding in result.findings:
        console.print(f"{finding.kind}: {finding.message}", highlight=False, markup=False)
    for name in result.missing:
        console.print(f"missing: {name} (the scheme adds it)", highlight=False, markup=False)
    if result.scheme is not None:
        bad = len(result.failures) + len(result.missing)
        verdict = "every parameter matches" if not bad else f"{bad} parameters do not match"
        console.print(f"{verdict} {result.scheme!r}", highlight=False)


def _write_csv(result: Audit, path: Path) -> None:
    rows = result.tidy_rows()
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def _write_json(result: Audit, path: Path) -> None:
    payload = {
        "scheme": result.scheme,
        "rows": result.tidy_rows(),
        "findings": [asdict(f) for f in result.findings],
        "missing": result.missing,
    }
    path.write_text(json.dumps(payload, indent=1, default=float))


def _shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--input-shape {text!r} is not comma-separated integers (e.g. 1,28,28)") from None


@app.command("audit")
def audit_command(
    model: str = typer.Option(..., help="Model name (see `initlab models`)."),
    model_param: list[str] = typer.Option(None, "--model-param", help="Model param key=value (repeatable)."),
    input_shape: str = typer.Option("1,28,28", "--input-shape", help="Input shape the model is built for."),
    num_classes: int = typer.Option(10, "--num-classes", min=1, help="Outputs the model is built for."),
    init: str = typer.Option(None, help="Scheme to check every parameter against (not applied)."),
    init_param: list[str] = typer.Option(None, "--init-param", help="Scheme param key=value (repeatable)."),
    csv_path: Path = typer.Option(None, "--csv", help="Write the rows here (CSV).", dir_okay=False),
    json_path: Path = typer.Option(
        None, "--json", help="Write rows and findings here (JSON).", dir_okay=False
    ),
    dataset: str = typer.Option(None, help="Dead/saturated units on a batch of it (sets the input shape)."),
    batch_size: int = typer.Option(256, "--batch-size", min=2, help="Samples in that batch."),
    download: bool = DownloadOption,
) -> int:
    """What init each parameter has (as the model's factory built it), and what --init expects."""
    shape, inputs = _shape(input_shape), None
    if dataset is not None:
        data = load_dataset(dataset, "train", download=download)
        shape, num_classes, inputs = data.input_shape, data.num_classes, data.x[:batch_size]
    net = build_model(model, input_shape=shape, num_classes=num_classes, **(parse_params(model_param) or {}))
    result = audit(net, init, inputs=inputs, **(parse_params(init_param) or {}))
    _print(result)
    if csv_path is not None:
        _write_csv(result, csv_path)
        console.print(f"wrote {csv_path}", highlight=False)
    if json_path is not None:
        _write_json(result, json_path)
        console.print(f"wrote {json_path}", highlight=False)
    return 1 if result.failures or result.missing else 0
