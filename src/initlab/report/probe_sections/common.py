"""What every probe section shares: a probe's rows grouped by condition and run, which conditions a
detail figure draws, and small numeric helpers (log10 and means that skip missing values)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab.probes.table import layers
from initlab.records import ProbeRow
from initlab.report.tables import Table

#: Conditions drawn in a detail figure (the overview figures show every condition); line charts, one
#: colour per condition, take up to MAX_LINES.
MAX_DETAIL = 6
MAX_LINES = 8
#: Layers given their own panel in a per-layer figure (first, evenly spaced, last).
MAX_LAYER_PANELS = 5
#: A table of more rows than this is folded under its caption.
FOLD_ROWS = 24


@dataclass(frozen=True)
class ProbeRuns:
    """A probe's rows grouped once: ``{condition: {run_id: rows}}`` in the report's order, and seeds."""

    conditions: dict[str, dict[str, list[ProbeRow]]]
    seeds: dict[str, int]

    @classmethod
    def of(cls, table: Table) -> ProbeRuns:
        conditions: dict[str, dict[str, list[ProbeRow]]] = {}
        seeds: dict[str, int] = {}
        for row in table:
            runs = conditions.setdefault(row["condition"], {})
            runs.setdefault(row["run_id"], []).append(
                ProbeRow(row["step"], row["layer"], row["name"], row["value"])
            )
            seeds[row["run_id"]] = row["seed"]
        return cls(conditions, seeds)

    @property
    def labels(self) -> list[str]:
        return list(self.conditions)

    def representative(self, condition: str) -> tuple[int, list[ProbeRow]]:
        """The seed and rows of the condition's run with the lowest seed."""
        run_id = min(self.conditions[condition], key=lambda r: (self.seeds[r], r))
        return self.seeds[run_id], self.conditions[condition][run_id]

    def runs(self, condition: str) -> list[list[ProbeRow]]:
        return list(self.conditions[condition].values())

    def detail(self, limit: int = MAX_DETAIL) -> list[str]:
        """The conditions a detail figure draws: all, or ``limit`` evenly spaced."""
        return evenly_spaced(self.labels, limit)

    def detail_note(self, shown: Sequence[str]) -> str:
        """The caption's note on the conditions left out of a detail figure ("" when none is)."""
        if len(shown) == len(self.conditions):
            return ""
        return (
            f" Showing {len(shown)} of {len(self.conditions)} conditions, evenly spaced in the report's "
            "order; the overview and the CSV hold all of them."
        )


def evenly_spaced(items: Sequence[Any], limit: int) -> list[Any]:
    """``items`` if there are at most ``limit``, else ``limit`` of them evenly spaced, first and last
    included."""
    if len(items) <= limit:
        return list(items)
    index = np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))
    return [items[i] for i in index]


def weight_tensors(rows: Sequence[ProbeRow]) -> list[str]:
    """Update-order tensors in model order: the ``*.weight`` ones when there are any, else all."""
    names = layers(rows)
    weights = [n for n in names if n.endswith(".weight")]
    return weights or names


def at_step(rows: Sequence[ProbeRow], step: int) -> dict[str, dict[str, float]]:
    """``{layer: {name: value}}`` of the rows at ``step``, layers in model order."""
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.step == step:
            table.setdefault(r.layer, {})[r.name] = r.value
    return table


def log10(value: float | None) -> float:
    """log10 of a positive value; NaN for 0, None, NaN or a negative value (drawn grey)."""
    if value is None or not value > 0 or not math.isfinite(value):
        return math.nan
    return math.log10(value)


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def geometric_mean(values: Sequence[float]) -> float:
    """The geometric mean of the positive values (NaN if there are none)."""
    logs = _finite([log10(v) for v in values])
    return 10 ** float(np.mean(logs)) if logs else math.nan


def arithmetic_mean(values: Sequence[float]) -> float:
    """The mean of the finite values (NaN if there are none)."""
    finite = _finite(values)
    return float(np.mean(finite)) if finite else math.nan
