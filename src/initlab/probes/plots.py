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
from matplotlib.ticker import FixedLocator

from initlab.probes.grad_dist import QUANTILE_NAMES
from initlab.probes.table import layers, pivot, select, steps
from initlab.records import ProbeRow


def activation_layers(rows: Sequence[ProbeRow]) -> list[str]:
    """Layers of signal rows that are activations (they have no ``weight_std``), in model order."""
    weights = {r.layer for r in rows if r.name == "weight_std"}
    return [layer for layer in layers(select(rows, name="mean")) if layer not in weights]


#: At most this many tick labels name layers on an axis; deeper models label every k-th layer.
MAX_LAYER_LABELS = 40
#: The quantile bands drawn, outermost first: (low, high, opacity).
BANDS = (("min", "max", 0.15), ("p01", "p99", 0.3), ("p25", "p75", 0.5))


def layer_ticks(ax: Axes, axis: str, names: Sequence[str], *, rotation: int = 0) -> None:
    """Name positions 0..n−1 of ``axis`` ("x" or "y") after ``names``, labelling every k-th one when
    there are more than :data:`MAX_LAYER_LABELS` (a 50-layer model stays readable)."""
    every = max(1, math.ceil(len(names) / MAX_LAYER_LABELS))
    at = list(range(0, len(names), every))
    if names and at[-1] != len(names) - 1:
        at.append(len(names) - 1)  # always name the last layer (the head)
    labels = [names[i] for i in at]
    if axis == "x":
        ax.set_xticks(at, labels, rotation=rotation, fontsize="x-small")
    else:
        ax.set_yticks(at, labels, rotation=rotation, fontsize="x-small")


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
    layer_ticks(ax, "x", names, rotation=90)
    ax.set_ylabel(name)
    if log and (positive or ax.get_yscale() == "log"):
        ax.set_yscale("log")
    ax.legend(fontsize="small")


def draw_bands(ax: Axes, x: np.ndarray, quantiles: dict[str, np.ndarray], color: str = "C0") -> None:
    """Quantile bands min–max, 1–99% and 25–75% and the median line over ``x``, on a symmetric-log
    axis whose linear range is 1e-4 of the largest magnitude (so signs and decades both show)."""
    for lo, hi, alpha in BANDS:
        ax.fill_between(x, quantiles[lo], quantiles[hi], alpha=alpha, color=color, label=f"{lo}–{hi}")
    ax.plot(
        x, quantiles["p50"], color=color, marker="." if len(x) <= 12 else None, linewidth=0.9, label="median"
    )
    extremes = np.abs(np.concatenate([quantiles["min"], quantiles["max"]]))
    largest = float(np.nanmax(extremes)) if np.isfinite(extremes).any() else 0.0
    linthresh = largest * 1e-4 if largest > 0 else 1e-12
    ax.set_yscale("symlog", linthresh=linthresh)
    decades: list[float] = []
    if largest > 0:  # 0 and at most three decades each side, clear of the linear range's edges
        low, high = math.floor(math.log10(linthresh)) + 2, math.floor(math.log10(largest))
        decades = [10.0**k for k in range(high, low - 1, -max(1, math.ceil((high - low + 1) / 3)))]
    ax.yaxis.set_major_locator(FixedLocator([-d for d in decades] + [0.0] + decades))


def quantile_bands(
    ax: Axes, rows: Sequence[ProbeRow], step: int | None = None, *, prefix: str = "", ylabel: str = ""
) -> None:
    """The distribution per layer at ``step`` (default: the first), from quantile rows named
    ``<prefix>min``, ``<prefix>p01`` ... ``<prefix>max``: bands across layers in forward order."""
    if not rows:
        return
    step = steps(rows)[0] if step is None else step
    table: dict[str, dict[str, float]] = {}
    for r in rows:  # one pass; layers in the order they first appear
        if r.step == step:
            table.setdefault(r.layer, {})[r.name] = r.value
    names = [layer for layer, q in table.items() if f"{prefix}p50" in q]
    draw_bands(
        ax,
        np.arange(len(names)),
        {k: np.array([table[n][prefix + k] for n in names]) for k in QUANTILE_NAMES},
    )
    layer_ticks(ax, "x", names, rotation=90)
    ax.set_ylabel(ylabel or f"{prefix}quantiles, step {step}")
    ax.legend(fontsize="small")


def gradient_quantiles(ax: Axes, rows: Sequence[ProbeRow], step: int | None = None) -> None:
    """Weight-gradient quantiles per layer at ``step`` (default: the first): min–max, 1–99% and
    25–75% bands and the median, on a symmetric-log axis."""
    if rows:
        step = steps(rows)[0] if step is None else step
        quantile_bands(ax, rows, step, ylabel=f"weight gradient, step {step}")


def quantiles_over_steps(ax: Axes, rows: Sequence[ProbeRow], layer: str, *, prefix: str = "") -> None:
    """One layer's quantile bands (rows ``<prefix>min`` ... ``<prefix>max``) against the step."""
    mine = select(rows, layer=layer)
    xs = sorted(pivot(mine, f"{prefix}p50").get(layer, {}))
    if not xs:
        return
    tables = {k: pivot(mine, prefix + k)[layer] for k in QUANTILE_NAMES}
    draw_bands(
        ax, np.array(xs), {k: np.array([tables[k].get(s, math.nan) for s in xs]) for k in QUANTILE_NAMES}
    )
    ax.set_xlabel("step")


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
    index = {param: i for i, param in enumerate(names)}
    size = 6 if len(names) <= 40 else 3
    for event, face in (("first_grad_step", "none"), ("first_change_step", "red")):
        marks = [(r.value, index[r.layer]) for r in select(rows, name=event) if r.layer in index]
        if marks:
            xs, ys = zip(*marks, strict=True)
            ax.plot(xs, ys, "o", color="red", markersize=size, markerfacecolor=face, linestyle="none")
    layer_ticks(ax, "y", names)
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
