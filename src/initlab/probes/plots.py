"""Figures drawn from tidy probe rows: per-layer profiles, gradient quantile bands, the update-order chart.

Every function draws on a matplotlib ``Axes`` from rows (``probe.rows`` or the store's
``Store.probe_rows``), never from a live model, so reports can redraw them from the store. Figures
are plain ``matplotlib.figure.Figure`` objects (no pyplot state; saved with the Agg backend).

:func:`heatmap` is the one heatmap of the project: the update-order chart here and every heatmap of
the reports (:mod:`initlab.report.probe_sections`) draw with it, so missing cells, whole-number
colour bars and annotations look the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import FixedLocator, MaxNLocator

from initlab.probes.grad_dist import QUANTILE_NAMES
from initlab.probes.table import layers, pivot, select, steps
from initlab.records import ProbeRow


def activation_layers(rows: Sequence[ProbeRow]) -> list[str]:
    """Layers of signal rows that are activations (they have no ``weight_std``), in model order."""
    weights = {r.layer for r in rows if r.name == "weight_std"}
    return [layer for layer in layers(select(rows, name="mean")) if layer not in weights]


#: At most this many tick labels name layers (or steps) on an axis; more label every k-th one.
MAX_LAYER_LABELS = 40
#: Colour of heatmap cells without a value (NaN), and at most this many whole values get a colour each.
MISSING = "0.85"
MAX_LEVELS = 256
#: The quantile bands drawn, outermost first: (low, high, opacity).
BANDS = (("min", "max", 0.15), ("p01", "p99", 0.3), ("p25", "p75", 0.5))


def layer_ticks(ax: Axes, axis: str, names: Sequence[str], *, rotation: int = 0) -> None:
    """Name positions 0..n−1 of ``axis`` ("x" or "y") after ``names`` (layers, or the steps of a
    heatmap's columns), labelling every k-th one when there are more than :data:`MAX_LAYER_LABELS`
    (a 50-layer model stays readable); the last is always named."""
    every = max(1, math.ceil(len(names) / MAX_LAYER_LABELS))
    at = list(range(0, len(names), every))
    if names and at[-1] != len(names) - 1:
        at.append(len(names) - 1)  # always name the last layer (the head)
    labels = [names[i] for i in at]
    if axis == "x":
        ax.set_xticks(at, labels, rotation=rotation, fontsize="x-small")
    else:
        ax.set_yticks(at, labels, rotation=rotation, fontsize="x-small")


def heatmap(
    ax: Axes,
    grid: np.ndarray,
    *,
    label: str,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    whole: bool = False,
    blank: np.ndarray | None = None,
    annotate: str | None = None,
    marks: np.ndarray | None = None,
    colorbar: str = "right",
) -> AxesImage:
    """Draw ``grid`` (rows × columns) cell by cell with a colour bar labelled ``label``.

    NaN cells are grey (no value); cells where ``blank`` is True are white (e.g. a layer a shallower
    model lacks, or a step without change). ``whole``: the values are whole numbers (steps, ranks), so
    the colour bar is discrete, one colour and at most a dozen integer ticks, instead of a continuous
    scale that suggests values in between. ``annotate`` (a format such as ``"{:.1f}"``) writes each
    value in its cell, with ``*`` where ``marks`` is True, in black or white for contrast.
    """
    finite = grid[np.isfinite(grid)]
    low = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    high = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    high = high if high > low else low + 1
    colors = matplotlib.colormaps[cmap]
    norm: Normalize = Normalize(low, high)
    if whole and high - low < MAX_LEVELS:
        levels = np.arange(math.floor(low), math.ceil(high) + 1)
        colors = colors.resampled(len(levels))
        norm = BoundaryNorm(np.append(levels, levels[-1] + 1) - 0.5, len(levels))
    image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", interpolation="nearest",
                      cmap=colors.with_extremes(bad=MISSING), norm=norm)  # fmt: skip
    if blank is not None and blank.any():
        white = np.zeros((*grid.shape, 4))
        white[blank] = 1.0
        ax.imshow(white, aspect="auto", interpolation="nearest")
    bar = ax.figure.colorbar(
        image, ax=ax, label=label, location=colorbar, fraction=0.04, pad=0.01, shrink=0.9
    )
    if whole:
        ticks = MaxNLocator(nbins=12, integer=True).tick_values(low, high)
        bar.set_ticks([t for t in ticks if low <= t <= high])
        bar.minorticks_off()
    if annotate is not None:
        rows = grid.shape[0]
        middle = (low + high) / 2
        for i, j in zip(*np.nonzero(np.isfinite(grid)), strict=True):
            star = "*" if marks is not None and marks[i, j] else ""
            color = "white" if grid[i, j] < middle else "black"
            text = annotate.format(grid[i, j]) + star
            ax.text(j, i, text, ha="center", va="center", fontsize=6 if rows > 30 else 7, color=color)
    ax.grid(False)
    return image


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
    """Parameters × recorded steps: colour log10 of each step's ‖Δ‖ (white: no change at all; grey: a
    step where only events were recorded), with a marker at each parameter's first non-zero gradient
    (○) and first change (●).

    One column per recorded step (the probe records the first steps, then every k-th): a step axis
    drawn to scale would squeeze the first steps, where the events happen, against its edge. Dotted
    lines mark where the recorded steps skip some.
    """
    table = pivot(rows, "delta_norm")
    names = list(table)
    if not names:
        return
    index = {param: i for i, param in enumerate(names)}
    events = {
        e: [r for r in select(rows, name=e) if r.layer in index]
        for e in ("first_grad_step", "first_change_step")
    }
    columns = sorted(
        set(steps(select(rows, name="delta_norm"))) | {int(r.value) for e in events.values() for r in e}
    )
    at = {step: j for j, step in enumerate(columns)}
    grid = np.full((len(names), len(columns)), np.nan)
    for i, param in enumerate(names):
        for step, value in table[param].items():
            grid[i, at[step]] = math.log10(value) if value > 0 else -math.inf if value == 0 else math.nan
    heatmap(
        ax, np.where(np.isinf(grid), np.nan, grid), label="log10 ‖Δ‖ of the step", blank=np.isneginf(grid)
    )
    size = 6 if len(names) <= 40 else 3
    for event, face in (("first_grad_step", "none"), ("first_change_step", "red")):
        if events[event]:
            xs = [at[int(r.value)] for r in events[event]]
            ys = [index[r.layer] for r in events[event]]
            ax.plot(xs, ys, "o", color="red", markersize=size, markerfacecolor=face, linestyle="none")
    for j in range(len(columns) - 1):
        if columns[j + 1] - columns[j] > 1:
            ax.axvline(j + 0.5, color="0.4", linestyle=":", linewidth=0.8)
    layer_ticks(ax, "y", names)
    layer_ticks(ax, "x", [str(s) for s in columns])
    ax.set_xlabel("recorded step (○ first non-zero gradient, ● first change)")


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
