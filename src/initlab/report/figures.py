"""Figures, one function per figure, each drawn from a tidy :class:`~initlab.report.tables.Table`.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global state,
rendered by the Agg backend), so studies, instruments and notebooks can reuse them; :func:`png_bytes`
renders one. Colours follow a ``{condition label: colour}`` map (:func:`palette`) so that one
condition has one colour in every figure of a report.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from initlab.errors import ConfigError
from initlab.report.tables import Table

STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.dpi": 110,
}
DIVERGED_COLOR = "#c0392b"
P = ParamSpec("P")


def styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw inside the report's matplotlib style, without touching the caller's rcParams."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` × ``height`` inches with constrained layout, drawn by Agg."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure rendered as PNG by the Agg backend."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def palette(labels: Sequence[str]) -> dict[str, Any]:
    """One colour per label, in order (tab10, then tab20 beyond ten labels)."""
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def metric_label(metric: str) -> str:
    """``test_accuracy`` -> ``test accuracy``."""
    return metric.replace("_", " ")


def metric_range(metric: str) -> tuple[float, float]:
    """The values ``metric`` can take: [0, 1] for an accuracy, else unbounded. Figures clip confidence
    bands to it (a t interval over 2 seeds can reach past 1); the tables keep the interval as computed."""
    return (0.0, 1.0) if metric.endswith("accuracy") else (-math.inf, math.inf)


def _error_bars(mean: np.ndarray, half: np.ndarray, metric: str) -> np.ndarray:
    """Error-bar lengths ``[[below], [above]]`` of mean ± half, clipped to ``metric_range(metric)``."""
    low, high = metric_range(metric)
    half = np.nan_to_num(half)
    return np.stack([mean - np.maximum(mean - half, low), np.minimum(mean + half, high) - mean])


def _counts_note(row: Mapping[str, Any] | None) -> str:
    """``n=3; 1 diverged`` from a final-table row."""
    if row is None:
        return ""
    parts = [f"n={row['n']}"]
    parts += [f"{row[k]} {k}" for k in ("diverged", "failed", "unfinished") if row.get(k)]
    return "; ".join(parts)


@styled
def plot_curves(
    curves: Table,
    *,
    final: Table | None = None,
    colors: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """A metric per epoch (or step), one line per condition, with its confidence band shaded.

    ``curves`` is a :func:`~initlab.report.tables.curve_table`; ``final`` (a final table) adds each
    condition's run counts to the legend, so diverged runs show as diverged rather than vanish.
    """
    x = "epoch" if "epoch" in curves.columns else "step"
    metric = curves.rows[0]["metric"] if len(curves) else ""
    groups = curves.groups("condition")
    labels = list(final.column("condition")) if final is not None else list(groups)
    colors = colors or palette(labels)
    finals = {row["condition"]: row for row in final} if final is not None else {}
    fig = new_figure(8, 4.2 + 0.22 * len(labels))
    ax = fig.add_subplot()
    for label in labels:
        note = _counts_note(finals.get(label))
        legend = f"{label}  ({note})" if note else label
        group = groups.get(label)
        if group is None:  # no finished run: keep it in the legend, drawn as nothing
            ax.plot([], [], color=colors[label], label=f"{legend}: no finished run", linestyle=":")
            continue
        xs, mean = group.column(x), np.array(group.column("mean"), dtype=float)
        lo, hi = (np.clip(group.column(k), *metric_range(metric)) for k in ("ci_low", "ci_high"))
        ax.plot(xs, mean, marker="o", markersize=3, color=colors[label], label=legend)
        ax.fill_between(xs, lo, hi, color=colors[label], alpha=0.2, linewidth=0)
    level = final.rows[0]["level"] if final is not None and len(final) else 0.95
    ax.set_xlabel(x)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{metric_label(metric)} (mean, {level:.0%} CI band)")
    ax.set_title(title or f"{metric_label(metric)} per {x}, mean over seeds")
    fig.legend(loc="outside lower center", ncols=1)
    return fig


@styled
def plot_final(
    final: Table,
    *,
    runs: Table | None = None,
    colors: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """The final metric per condition: the mean with its CI as an error bar, one row per condition.

    ``runs`` (a run table) adds every finished run as a dot. Conditions with diverged, failed or
    unfinished runs say so on the right; a condition with no finished run is marked ✕ in red.
    """
    labels = final.column("condition")
    colors = colors or palette(labels)
    fig = new_figure(8, 1.4 + 0.45 * len(labels))
    ax = fig.add_subplot()
    note_at = blended_transform_factory(ax.transAxes, ax.transData)
    for i, row in enumerate(final):
        y, color = len(labels) - 1 - i, colors[row["condition"]]
        if runs is not None:
            seeds = runs.where(condition=row["condition"], status="finished").column("value")
            ax.plot(seeds, [y] * len(seeds), "o", color=color, alpha=0.35, markersize=4, zorder=2)
        if row["n"] == 0:
            ax.plot(0.5, y, "x", color=DIVERGED_COLOR, transform=note_at, markersize=9)
        else:
            mean, half = np.array([row["mean"]]), np.array([row["ci_half_width"]])
            xerr = None if np.isnan(half).all() else _error_bars(mean, half, row["metric"])
            ax.errorbar(mean, [y], xerr=xerr, fmt="D", color=color, capsize=4, markersize=6, zorder=3)
        left_out = any(row.get(k) for k in ("diverged", "failed", "unfinished"))
        ax.text(
            1.01,
            y,
            _counts_note(row),
            transform=note_at,
            va="center",
            fontsize=8,
            color=DIVERGED_COLOR if left_out else "0.35",
        )
    ax.set_yticks(range(len(labels)), list(reversed(labels)))
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.grid(axis="y", visible=False)
    metric = final.rows[0]["metric"] if len(final) else ""
    level = final.rows[0]["level"] if len(final) else 0.95
    ax.set_xlabel(f"final {metric_label(metric)} (mean, {level:.0%} CI; dots: seeds)")
    ax.set_title(title or f"final {metric_label(metric)} per condition")
    return fig


@styled
def plot_metric_vs_param(
    final: Table,
    *,
    param: str,
    runs: Table | None = None,
    series: str | None = None,
    spread: str = "var",
    logx: bool = True,
    colors: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """The final metric (top) and its spread across seeds (bottom) against a swept parameter.

    ``final`` is a final table with a ``param`` column (e.g. ``init_params.scale``); ``series``
    names a column that splits it into lines (e.g. ``model``); ``spread`` is the bottom panel's
    column (``var`` or ``std``). Points where runs diverged are marked ✕ at the bottom of the top
    panel with the count; ``runs`` (a run table with the same ``param`` column) adds each seed as a dot.
    """
    xs_all = np.array(final.column(param), dtype=float)
    if logx and not (xs_all > 0).all():
        raise ConfigError(f"{param} has values <= 0 ({xs_all.tolist()}); use logx=False")
    groups = final.groups(series) if series else {None: final}
    colors = colors or palette([str(k) for k in groups])
    fig = new_figure(8, 6.2)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    at_bottom = blended_transform_factory(top.transData, top.transAxes)
    handles: list[Any] = []
    for key, group in groups.items():
        order = np.argsort(np.array(group.column(param), dtype=float))
        rows = [group.rows[i] for i in order]
        xs = [r[param] for r in rows]
        color = colors[str(key)]
        name = f"{series}={key}" if series else "mean"
        mean = np.array([r["mean"] for r in rows], dtype=float)
        half = np.array([r["ci_half_width"] for r in rows], dtype=float)
        handles.append(
            top.errorbar(
                xs,
                mean,
                yerr=_error_bars(mean, half, rows[0]["metric"]),
                marker="o",
                capsize=4,
                color=color,
                label=name,
            )
        )
        bottom.plot(xs, [r[spread] for r in rows], marker="s", color=color, label=name)
        if runs is not None:
            seeds = runs.where(status="finished", **({series: key} if series else {}))
            top.plot(seeds.column(param), seeds.column("value"), ".", color=color, alpha=0.4)
        for r in rows:
            if r["diverged"]:
                top.plot(r[param], 0.03, "x", color=DIVERGED_COLOR, markersize=10, mew=2, transform=at_bottom)
                top.annotate(
                    f"{r['diverged']}/{r['runs']} diverged",
                    (r[param], 0.03),
                    xycoords=at_bottom,
                    xytext=(6, 4),
                    textcoords="offset points",
                    color=DIVERGED_COLOR,
                    fontsize=8,
                )
    metric = final.rows[0]["metric"] if len(final) else ""
    if logx:
        bottom.set_xscale("log")
    top.set_ylabel(f"final {metric_label(metric)}\n(mean, CI; dots: seeds)")
    bottom.set_ylabel(f"across-seed {'variance' if spread == 'var' else spread}")
    bottom.set_xlabel(param)
    top.set_title(title or f"final {metric_label(metric)} and its spread vs. {param}")
    if any(final.column("diverged")):
        handles += top.plot([], [], "x", color=DIVERGED_COLOR, mew=2, label="diverged runs")
    top.legend(handles=handles, loc="best")
    return fig


def _grid(table: Table, x: str, y: str, value: str) -> tuple[list[Any], list[Any], np.ndarray]:
    """The mean of ``value`` per (y, x) cell (e.g. over seeds): y in first-seen order, x sorted."""
    ys, xs = list(dict.fromkeys(table.column(y))), sorted(set(table.column(x)))
    sums, counts = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
    yi, xi = {k: i for i, k in enumerate(ys)}, {k: i for i, k in enumerate(xs)}
    for row in table:
        v = row[value]
        if v is not None and math.isfinite(v):
            sums[yi[row[y]], xi[row[x]]] += v
            counts[yi[row[y]], xi[row[x]]] += 1
    with np.errstate(invalid="ignore"):
        return xs, ys, np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _facets(
    table: Table, facet: str | None, width: float, height: float
) -> tuple[Figure, list[tuple[Any, Table, Axes]]]:
    groups = table.groups(facet) if facet and facet in table.columns else {None: table}
    cols = min(len(groups), 2)
    rows = math.ceil(len(groups) / cols)
    fig = new_figure(width * cols, height * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    return fig, [(k, g, ax) for (k, g), ax in zip(groups.items(), axes, strict=False)]


@styled
def plot_heatmap(
    table: Table,
    *,
    x: str = "step",
    y: str = "layer",
    value: str = "value",
    facet: str | None = "condition",
    log: bool = False,
    value_label: str | None = None,
    title: str | None = None,
) -> Figure:
    """A (y × x) heatmap of ``value`` averaged over repeated rows (seeds), one panel per ``facet``.

    Made for tidy probe rows (``layer`` × ``step``, e.g. update order or a gradient quantile); any
    table with those columns works. Empty cells are grey; ``log`` colours by log10 of |value|.
    """
    if not len(table):
        raise ConfigError("plot_heatmap got an empty table")
    fig, panels = _facets(table, facet, 5.5, 0.9 + 0.32 * len(set(table.column(y))))
    grids = [_grid(group, x, y, value) for _, group, _ in panels]
    if log:
        with np.errstate(divide="ignore"):
            grids = [(xs, ys, np.where(np.abs(g) > 0, np.log10(np.abs(g)), np.nan)) for xs, ys, g in grids]
    finite = np.concatenate([g[np.isfinite(g)] for _, _, g in grids])
    vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    image = None
    for (key, _, ax), (xs, ys, grid) in zip(panels, grids, strict=True):
        image = ax.imshow(
            np.ma.masked_invalid(grid),
            aspect="auto",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ticks = np.unique(np.linspace(0, len(xs) - 1, min(len(xs), 8)).round().astype(int))
        ax.set_xticks(ticks, [str(xs[i]) for i in ticks])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(False)
        if key is not None:
            ax.set_title(str(key), fontsize=9)
    label = value_label or value
    fig.colorbar(image, ax=[ax for _, _, ax in panels], label=f"log10 |{label}|" if log else label)
    if title:
        fig.suptitle(title)
    return fig


@styled
def plot_lines_by_layer(
    table: Table,
    *,
    x: str = "step",
    layer: str = "layer",
    value: str = "value",
    facet: str | None = "condition",
    logy: bool = False,
    value_label: str | None = None,
    title: str | None = None,
) -> Figure:
    """``value`` against ``x``, one line per layer (input to output, light to dark), one panel per facet.

    Repeated rows (seeds) are averaged. Made for per-layer probe rows: signal, rank growth, a
    gradient quantile over the first steps.
    """
    if not len(table):
        raise ConfigError("plot_lines_by_layer got an empty table")
    fig, panels = _facets(table, facet, 5.5, 3.6)
    cmap = matplotlib.colormaps["plasma"]
    for key, group, ax in panels:
        xs, layers, grid = _grid(group, x, layer, value)
        for i, name in enumerate(layers):
            shade = cmap(0.85 * i / max(len(layers) - 1, 1))
            ax.plot(xs, grid[i], marker="." if len(xs) < 30 else None, color=shade, label=str(name))
        if logy:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=all(isinstance(v, int) for v in xs)))
        ax.set_xlabel(x)
        ax.set_ylabel(value_label or value)
        if key is not None:
            ax.set_title(str(key), fontsize=9)
        ax.legend(title=layer, fontsize=7, ncols=1 + len(layers) // 10)
    if title:
        fig.suptitle(title)
    return fig
