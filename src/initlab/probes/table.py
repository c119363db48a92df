"""Tidy probe rows in memory: filter, pivot and read series without a database or pandas.

Rows are :class:`initlab.records.ProbeRow` ``(step, layer, name, value)``: one row per layer per
step per quantity, as muP's coord check and Cockpit keep them. ``pandas.DataFrame(rows)`` works
as-is (a ProbeRow is a NamedTuple), and the store returns the same rows (``Store.probe_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from initlab.records import ProbeRow


def select(
    rows: Iterable[ProbeRow], *, name: str | None = None, layer: str | None = None, step: int | None = None
) -> list[ProbeRow]:
    """The rows whose quantity, layer and step match those given (None matches all)."""
    return [
        r
        for r in rows
        if (name is None or r.name == name)
        and (layer is None or r.layer == layer)
        and (step is None or r.step == step)
    ]


def layers(rows: Iterable[ProbeRow]) -> list[str]:
    """The layers of ``rows`` in the order they first appear (the model's order)."""
    return list(dict.fromkeys(r.layer for r in rows))


def steps(rows: Iterable[ProbeRow]) -> list[int]:
    """The distinct steps of ``rows``, ascending."""
    return sorted({r.step for r in rows})


def names(rows: Iterable[ProbeRow]) -> list[str]:
    """The quantities of ``rows`` in the order they first appear."""
    return list(dict.fromkeys(r.name for r in rows))


def pivot(rows: Iterable[ProbeRow], name: str) -> dict[str, dict[int, float]]:
    """``{layer: {step: value}}`` of quantity ``name``."""
    table: dict[str, dict[int, float]] = {}
    for r in rows:
        if r.name == name:
            table.setdefault(r.layer, {})[r.step] = r.value
    return table


def series(rows: Iterable[ProbeRow], layer: str, name: str) -> tuple[list[int], list[float]]:
    """Steps and values of quantity ``name`` of ``layer``, in step order."""
    points = sorted((r.step, r.value) for r in rows if r.layer == layer and r.name == name)
    return [s for s, _ in points], [v for _, v in points]


def at_step(rows: Sequence[ProbeRow], step: int | None = None) -> dict[str, dict[str, float]]:
    """``{layer: {name: value}}`` at ``step`` (default: the last step in ``rows``)."""
    if step is None:
        if not rows:
            return {}
        step = max(r.step for r in rows)
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.step == step:
            table.setdefault(r.layer, {})[r.name] = r.value
    return table
