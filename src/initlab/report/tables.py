"""Tidy tables drawn from stored runs: one row per observation, ready to plot and to export as CSV.

Every figure in :mod:`initlab.report.figures` draws from one of these tables, so a study or an
instrument can build its own table (or filter one) and reuse the same figure functions.

- :func:`curve_table`: one row per condition per epoch: the metric's mean ± CI over seeds;
- :func:`final_table`: one row per condition: the final metric's mean, CI, spread and run counts;
- :func:`run_table`: one row per run: its status and final metric;
- :func:`probe_table`: one row per probe measurement ``(run, probe, step, layer, name, value)``.

Only finished runs enter means and intervals; ``ci_low``/``ci_high`` lie within the metric's range and
``interval`` says when there are too few runs for one (:mod:`initlab.report.stats`). Diverged, failed
and still-running (unfinished) runs are counted in their own columns and never averaged in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from initlab.errors import ConfigError
from initlab.report.runs import Condition, parse_metric
from initlab.report.stats import Interval, bounded, interval_text, mean_ci
from initlab.store import Store
from initlab.store.export import write_csv


@dataclass(frozen=True)
class Table:
    """A tidy table: named columns and rows (dicts keyed by column)."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], columns: Sequence[str] = ()) -> Table:
        """A table of ``rows``; its columns are ``columns`` then any other key, in first-seen order."""
        rows = tuple(rows)
        return cls(tuple(dict.fromkeys([*columns, *(k for row in rows for k in row)])), rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            raise ConfigError(f"table has no column {name!r}; columns: {', '.join(self.columns)}")
        return [row.get(name) for row in self.rows]

    def where(self, **equal: Any) -> Table:
        """The rows whose columns equal the given values."""
        return Table(
            self.columns, tuple(r for r in self.rows if all(r.get(k) == v for k, v in equal.items()))
        )

    def groups(self, column: str) -> dict[Any, Table]:
        """Sub-tables by the value of ``column``, in first-seen order."""
        keys = dict.fromkeys(self.column(column))
        return {key: self.where(**{column: key}) for key in keys}

    def to_csv(self, path: str | Path) -> Path:
        return write_csv(Path(path), list(self.rows), header=list(self.columns))


def _condition_columns(condition: Condition) -> dict[str, Any]:
    return {"condition": condition.label, **condition.params}


def _ci_columns(ci: Interval, metric: str) -> dict[str, float | int | str]:
    """The interval's columns: ``ci_low``/``ci_high`` within the metric's range, ``ci_half_width`` as
    computed, and ``interval`` as the page shows it (no interval below ``MIN_INTERVAL_N`` runs)."""
    low, high = bounded(ci.low, ci.high, metric)
    return {
        "n": ci.n,
        "mean": ci.mean,
        "ci_low": low,
        "ci_high": high,
        "interval": interval_text(ci, metric),
        "ci_half_width": ci.half_width,
        "std": ci.std,
        "min": ci.min,
        "max": ci.max,
    }


def check_metric(conditions: Sequence[Condition], metric: str) -> None:
    """Raise a ConfigError naming the recorded metrics if no run of ``conditions`` recorded ``metric``."""
    parse_metric(metric)
    recorded = {name for c in conditions for r in c.runs for name in r.metric_names()}
    if metric not in recorded:
        allowed = ", ".join(sorted(recorded)) or "none"
        raise ConfigError(f"no run recorded metric {metric!r}; recorded: {allowed}")


def curve_axis(conditions: Sequence[Condition], metric: str) -> str:
    """The axis ``metric``'s curves are drawn against: "epoch", or "step" when a run recorded it more
    than once in an epoch (a run that evaluates every ``eval_every`` steps)."""
    split, name = parse_metric(metric)
    for condition in conditions:
        for run in condition.runs:
            epochs = [m.epoch for m in run.metrics if m.split == split and m.name == name]
            if len(epochs) != len(set(epochs)):
                return "step"
    return "epoch"


def curve_table(
    conditions: Sequence[Condition], metric: str = "test_accuracy", *, x: str = "epoch", level: float = 0.95
) -> Table:
    """Per condition and per ``x`` (epoch or step): ``metric``'s mean ± CI over the finished runs."""
    check_metric(conditions, metric)
    rows = []
    for condition in conditions:
        series = [run.series(metric, x) for run in condition.with_status("finished")]
        for at in sorted({at for s in series for at in s}):
            ci = mean_ci([s[at] for s in series if at in s], level)
            rows.append({**_condition_columns(condition), "metric": metric, x: at, **_ci_columns(ci, metric)})
    return Table.from_rows(rows, ["condition", "metric", x, "n", "mean", "ci_low", "ci_high"])


def final_table(
    conditions: Sequence[Condition], metric: str = "test_accuracy", *, level: float = 0.95
) -> Table:
    """Per condition: the final ``metric`` over finished runs (mean, CI, std, min, max) and run counts.

    ``n`` is the number of finished runs averaged; ``diverged``, ``failed`` and ``unfinished`` count
    the runs left out; ``level`` is the interval's confidence level.
    """
    check_metric(conditions, metric)
    rows = []
    for condition in conditions:
        finals = [run.final(metric) for run in condition.with_status("finished")]
        ci = mean_ci([v for v in finals if v is not None], level)
        rows.append(
            {
                **_condition_columns(condition),
                "metric": metric,
                "runs": len(condition.runs),
                **_ci_columns(ci, metric),
                "var": ci.var,
                "diverged": condition.count("diverged"),
                "failed": condition.count("failed"),
                "unfinished": condition.count("running"),
                "level": level,
            }
        )
    return Table.from_rows(rows, ["condition", "metric", "runs", "n", "mean", "ci_low", "ci_high"])


def run_table(conditions: Sequence[Condition], metric: str = "test_accuracy") -> Table:
    """One row per run: its condition, seed, status and final ``metric`` (NaN unless it finished)."""
    check_metric(conditions, metric)
    rows = []
    for condition in conditions:
        for run in condition.runs:
            value = run.final(metric) if run.status == "finished" else None
            rows.append(
                {
                    **_condition_columns(condition),
                    "run_id": run.id,
                    "seed": run.record.seed,
                    "status": run.status,
                    "metric": metric,
                    "value": math.nan if value is None else value,
                    "diverged_step": run.record.diverged_step,
                    "reason": (run.record.reason or "").split("\n", 1)[0],
                }
            )
    return Table.from_rows(rows, ["condition", "run_id", "seed", "status", "metric", "value"])


def probe_table(store: Store, conditions: Sequence[Condition], probe: str | None = None) -> Table:
    """Tidy probe rows ``(condition, run_id, seed, probe, step, layer, name, value)`` of every run."""
    rows = [
        {"condition": c.label, "run_id": run.id, "seed": run.record.seed, "probe": name, **row._asdict()}
        for c in conditions
        for run in c.runs
        for name, row in store.probe_rows(run.id, probe)
    ]
    return Table.from_rows(rows, ["condition", "run_id", "seed", "probe", "step", "layer", "name", "value"])
