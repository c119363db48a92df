"""``initlab schemes|models|datasets [NAME]``: what exists, one line each, or one entry in full.

A scheme's line gives its family, its summary, its paper (authors, year, arXiv id) and its params;
``initlab schemes NAME`` prints its formula (the docstring), its paper and a table of its params.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from initlab.cli.app import app, console
from initlab.registry import Entry, Registry


def _params_inline(entry: Entry) -> str:
    return ", ".join(f"{name}={default}" for name, _, default in entry.param_table())


def _show_list(registry: Registry) -> None:
    for entry in registry:
        line = Text(f"{entry.name:<26}", style="bold")
        if "family" in entry.meta:
            line.append(f"{entry.meta['family']:<15}")
        line.append(entry.summary)
        paper = entry.meta.get("paper")
        if paper is not None:
            line.append(f"  [{paper.short}]", style="cyan")
        params = _params_inline(entry)
        if params:
            line.append(f"  ({params})", style="dim")
        console.print(line)


def _show_entry(registry: Registry, name: str) -> None:
    entry = registry.get(name)
    family = f", {entry.meta['family']}" if "family" in entry.meta else ""
    console.print(Text(f"{entry.name}  ({registry.kind}{family})", style="bold"))
    if entry.meta.get("paper"):
        console.print(f"paper: {entry.meta['paper']}", highlight=False)
    if entry.meta.get("data"):
        console.print(f"data: {entry.meta['data']} (a batch of inputs: apply_init(model, {name!r}, data=x))")
    console.print()
    console.print(entry.doc, highlight=False, markup=False)
    rows = entry.param_table()
    if rows:
        table = Table("param", "type", "default", title="params", title_justify="left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    if entry.meta.get("report"):
        _show_report(entry.meta["report"])


def _show_report(report: Callable[[], list[Any]]) -> None:
    """A table of the dataclass rows ``report()`` measures, titled by its docstring's first line."""
    rows = report()
    names = [f.name for f in dataclasses.fields(rows[0])]
    title = (inspect.getdoc(report) or "").split("\n", 1)[0]
    table = Table(*names, title=title, title_justify="left")
    for row in rows:
        table.add_row(
            *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in (getattr(row, n) for n in names))
        )
    console.print(table)


def _catalog(registry: Registry, name: str | None) -> None:
    if name is None:
        _show_list(registry)
    else:
        _show_entry(registry, name)


NameArgument = typer.Argument(None, help="Show this entry in full.")


@app.command()
def schemes(name: str | None = NameArgument) -> None:
    """List the init schemes, or show one scheme's formula, paper and params."""
    from initlab.schemes import SCHEMES

    _catalog(SCHEMES, name)


@app.command()
def models(name: str | None = NameArgument) -> None:
    """List the models, or show one model's description and params."""
    from initlab.models import MODELS

    _catalog(MODELS, name)


@app.command()
def datasets(name: str | None = NameArgument) -> None:
    """List the datasets, or show one dataset's sources and params."""
    from initlab.data import DATASETS

    _catalog(DATASETS, name)


@app.command()
def probes(name: str | None = NameArgument) -> None:
    """List the probes, or show one probe's description and params."""
    from initlab.probes import PROBES

    _catalog(PROBES, name)
