"""Figures drawn from tidy probe rows: per-layer profiles, gradient quantile bands, the update-order chart.

Every function draws on a matplotlib ``Axes`` from rows (``probe.rows`` or the store's
``Store.probe_rows``), never from a live model, so reports can redraw them from the store. Figures
are plain ``matplotlib.figure.Figure`` objects (no pyplot state; saved with the Agg backend).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from initlab.probes.table import layers, pivot, select, steps
from initlab.records import ProbeRow


def activation_layers(rows: Sequence[ProbeRow]) -> list[str]:
    """Layers of signal rows that are activations (they have no ``weight_std``), in model order."""
    weights = {r.layer for r in rows if r.name == "weight_std"}
    return [layer for layer in layers(select(rows, name="mean")) if layer not in weights]


def layer_profile(
    ax: Axes,
    rows: Sequence[ProbeRow],
    name: str,
    *,
    only: Sequence[str] | None = None,
    at: Sequence[int] | None = None,
    log: bool = False,
    label: str | None = None,
) -> None:
    """Quantity ``name`` per layer in forward order, one line per step (``at``: which steps; default
    the first and the last); ``only`` restricts the layers (default: all that have the quantity).
    On a log axis, zeros are not drawn."""
    table = pivot(rows, name)
    names = [layer for layer in (only or list(table)) if layer in table]
    chosen = at if at is not None else sorted({steps(rows)[0], steps(rows)[-1]}) if rows else []
    positive = False
    for step in chosen:
        values = [table[layer].get(step, math.nan) for layer in names]
        positive = positive or any(v > 0 for v in values)
        ax.plot(range(len(names)), values, marker=".", label=f"{label or name}, step {step}")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize="x-small")
    ax.set_ylabel(name)
    if log and (positive or ax.get_yscale() == "log"):
        ax.set_yscale("log")
    ax.legend(fontsize="small")


def gradient_quantiles(ax: Axes, rows: Sequence[ProbeRow], step: int | None = None) -> None:
    """Weight-gradient quantiles per layer at ``step`` (default: the first): min–max, 1–99% and
    25–75% bands and the median, on a symmetric-log axis."""
    if not rows:
        return
    step = steps(rows)[0] if step is None else step
    table = {layer: {r.name: r.value for r in select(rows, layer=layer, step=step)} for layer in layers(rows)}
    names = [layer for layer, q in table.items() if "p50" in q]
    x = np.arange(len(names))

    def col(key: str) -> np.ndarray:
        return np.array([table[layer][key] for layer in names])

    for lo, hi, alpha in (("min", "max", 0.15), ("p01", "p99", 0.3), ("p25", "p75", 0.5)):
        ax.fill_between(x, col(lo), col(hi), alpha=alpha, color="C0", label=f"{lo}–{hi}")
    ax.plot(x, col("p50"), color="C0", marker=".", label="median")
    largest = max((abs(v) for key in ("min", "max") for v in col(key)), default=0.0)
    ax.set_yscale("symlog", linthresh=largest * 1e-4 if largest > 0 else 1e-12)
    ax.set_xticks(x, names, rotation=90, fontsize="x-small")
    ax.set_ylabel(f"weight gradient, step {step}")
    ax.legend(fontsize="small")


def update_order_chart(ax: Axes, rows: Sequence[ProbeRow]) -> None:
    """Parameters × steps: colour log10 of each step's ‖Δ‖ (blank: no change at all), with a marker
    at each parameter's first non-zero gradient (○) and first change (●)."""
    table = pivot(rows, "delta_norm")
    names = list(table)
    if not names:
        return
    all_steps = steps(select(rows, name="delta_norm"))
    grid = np.full((len(names), len(all_steps)), np.nan)
    for i, param in enumerate(names):
        for j, step in enumerate(all_steps):
            value = table[param].get(step, 0.0)
            if value > 0:
                grid[i, j] = math.log10(value)
    image = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis",
                      extent=(all_steps[0] - 0.5, all_steps[-1] + 0.5, len(names) - 0.5, -0.5))  # fmt: skip
    ax.figure.colorbar(image, ax=ax, label="log10 ‖Δ‖ of the step")
    for event, face in (("first_grad_step", "none"), ("first_change_step", "red")):
        for i, param in enumerate(names):
            for r in select(rows, name=event, layer=param):
                ax.plot(r.value, i, marker="o", color="red", markersize=6, markerfacecolor=face)
    ax.set_yticks(range(len(names)), names, fontsize="x-small")
    ax.set_xlabel("step (○ first non-zero gradient, ● first change)")


def inspect_figure(
    signal: Sequence[ProbeRow], grads: Sequence[ProbeRow], order: Sequence[ProbeRow], title: str = ""
) -> Figure:
    """The ``initlab inspect --plot`` figure: activation std and input signal per layer, gradient
    std per layer, weight-gradient quantiles per layer, and the update-order chart."""
    fig = Figure(figsize=(13, 9), layout="constrained")
    (a, b), (c, d) = fig.subplots(2, 2)
    acts = activation_layers(signal)
    layer_profile(a, signal, "std", only=acts, log=True, label="activation std")
    layer_profile(a, signal, "input_signal", only=acts, log=True, label="input signal")
    a.set_ylabel("activations")
    a.set_title("forward signal per activation layer")
    layer_profile(b, signal, "grad_std", only=acts, log=True, label="std ∂L/∂a")
    b.set_title("backward signal per activation layer")
    gradient_quantiles(c, grads)
    c.set_title("weight-gradient distribution per layer")
    update_order_chart(d, order)
    d.set_title("update order")
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` (Agg backend), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
