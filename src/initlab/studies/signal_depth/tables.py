"""The signal-depth study's tables: failure depth per init, signal ratios per depth."""

from __future__ import annotations

from typing import Any

from initlab.report import Table
from initlab.studies.signal_depth import grid
from initlab.studies.signal_depth.facts import Cell, depth_text, failure_depth
from initlab.studies.signal_depth.grid import INITS


def outcome_table(table: dict[tuple[str, str, int], Cell]) -> Table:
    deepest = max((d for _, _, d in table), default=0)
    rows = []
    for activation in grid.ACTIVATIONS:
        for init in INITS:
            mine = {d: c for (a, i, d), c in table.items() if (a, i) == (activation, init)}
            if not mine:
                continue
            row: dict[str, Any] = {
                "activation": activation,
                "init": init,
                "fails from depth": depth_text(failure_depth(table, activation, init), deepest),
            }
            for depth, cell in mine.items():
                row[f"accuracy, depth {depth}"] = cell.mean("accuracy")
            rows.append(row)
    return Table.from_rows(rows)


def signal_table(table: dict[tuple[str, str, int], Cell]) -> Table:
    return Table.from_rows(
        {
            "activation": a,
            "init": i,
            "depth": d,
            "runs": len(c.runs),
            "input signal ratio": c.mean("input_signal"),
            "std ratio": c.mean("std"),
            "gradient ratio (first/last)": c.mean("gradient"),
            "accuracy": c.mean("accuracy"),
            "failed runs": sum(r.failed for r in c.runs),
        }
        for (a, i, d), c in table.items()
    )
