"""Figures, one function per figure, each drawn from a tidy :class:`~initlab.report.tables.Table`.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global state,
rendered by the Agg backend), so studies, instruments and notebooks can reuse them; :func:`png_bytes`
renders one. Colours follow a ``{condition label: colour}`` map (:func:`palette`) so that one
condition has one colour in every figure of a report; each condition also has its own marker and line
style, and a curve equal to another's says so in the legend (:mod:`initlab.report.series`).

Intervals are drawn within the metric's range; below ``MIN_INTERVAL_N`` runs a t interval says
nothing (it spans most of [0, 1]), so curves shade the seeds' range (min–max) instead and the final
plot draws the seeds without an error bar (:mod:`initlab.report.stats`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from initlab.errors import ConfigError
from initlab.report.layout import fit_titles
from initlab.report.series import identical_to, legend_label, palette, series_styles
from initlab.report.stats import MIN_INTERVAL_N, metric_range
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
    """The figure rendered as PNG by the Agg backend, its titles wrapped to fit (:func:`fit_titles`)."""
    fit_titles(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def metric_label(metric: str) -> str:
    """``test_accuracy`` -> ``test accuracy``."""
    return metric.replace("_", " ")


def _error_bars(mean: np.ndarray, half: np.ndarray, n: np.ndarray, metric: str) -> np.ndarray:
    """Error-bar lengths ``[[below], [above]]`` of mean ± half, clipped to ``metric_range(metric)``;
    none (0) below ``MIN_INTERVAL_N`` runs."""
    low, high = metric_range(metric)
    half = np.where(n >= MIN_INTERVAL_N, np.nan_to_num(half), 0.0)
    return np.stack([mean - np.maximum(mean - half, low), np.minimum(mean + half, high) - mean])


def _counts_note(row: Mapping[str, Any] | None) -> str:
    """``n=3; 1 diverged`` from a final-table row."""
    if row is None:
        return ""
    parts = [f"n={row['n']}"]
    parts += [f"{row[k]} {k}" for k in ("diverged", "failed", "unfinished") if row.get(k)]
    return "; ".join(parts)


def _band(group: Table, metric: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """The shaded band of one condition's curve: its t interval (within the metric's range) where
    every point has ``MIN_INTERVAL_N`` runs, else the seeds' min–max; and whether it is the interval."""
    n = np.array(group.column("n"), dtype=float)
    interval = bool((n >= MIN_INTERVAL_N).all())
    low, high = ("ci_low", "ci_high") if interval else ("min", "max")
    lo, hi = (np.array(group.column(k), dtype=float) for k in (low, high))
    return np.clip(lo, *metric_range(metric)), np.clip(hi, *metric_range(metric)), interval


@styled
def plot_curves(
    curves: Table,
    *,
    final: Table | None = None,
    colors: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """A metric per epoch (or step), one line per condition, with a band shaded: the confidence
    interval, or the seeds' range below ``MIN_INTERVAL_N`` runs (the axis label says which).

    ``curves`` is a :func:`~initlab.report.tables.curve_table`; ``final`` (a final table) adds each
    condition's run counts to the legend, so diverged runs show as diverged rather than vanish. Each
    condition has its own colour, marker and line style; a curve equal to an earlier one says
    ``identical to`` it in the legend.
    """
    x = "epoch" if "epoch" in curves.columns else "step"
    metric = curves.rows[0]["metric"] if len(curves) else ""
    groups = curves.groups("condition")
    labels = list(final.column("condition")) if final is not None else list(groups)
    styles = series_styles(labels, colors)
    finals = {row["condition"]: row for row in final} if final is not None else {}
    same = identical_to({k: (g.column(x), g.column("mean")) for k, g in groups.items()})
    fig = new_figure(8, 4.2 + 0.22 * len(labels))
    ax = fig.add_subplot()
    kinds = set()
    for label in labels:
        note = _counts_note(finals.get(label))
        name = legend_label(label, same)
        legend = f"{name}  ({note})" if note else name
        group = groups.get(label)
        if group is None:  # no finished run: keep it in the legend, drawn as nothing
            ax.plot([], [], color=styles[label].color, label=f"{legend}: no finished run", linestyle=":")
            continue
        lo, hi, interval = _band(group, metric)
        kinds.add(interval)
        ax.plot(group.column(x), group.column("mean"), markersize=4, label=legend, **styles[label].kwargs())
        ax.fill_between(group.column(x), lo, hi, color=styles[label].color, alpha=0.15, linewidth=0)
    level = final.rows[0]["level"] if final is not None and len(final) else 0.95
    ax.set_xlabel(x)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    bands = {True: f"{level:.0%} CI", False: f"seeds' range (n < {MIN_INTERVAL_N})"}
    ax.set_ylabel(f"{metric_label(metric)}\n(mean; band: {' or '.join(bands[k] for k in sorted(kinds))})")
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

    ``runs`` (a run table) adds every finished run as a dot. Below ``MIN_INTERVAL_N`` runs there is no
    error bar: the dots are the data. Conditions with diverged, failed or unfinished runs say so on the
    right; a condition with no finished run is marked ✕ in red.
    """
    labels = final.column("condition")
    colors = colors or palette(labels)
    fig = new_figure(8, 1.4 + 0.34 * len(labels))
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
            mean, half, n = (np.array([row[k]], dtype=float) for k in ("mean", "ci_half_width", "n"))
            xerr = (
                None
                if n[0] < MIN_INTERVAL_N or np.isnan(half).all()
                else _error_bars(mean, half, n, row["metric"])
            )
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
    ax.set_xlabel(
        f"final {metric_label(metric)} (mean, {level:.0%} CI from n={MIN_INTERVAL_N} on; dots: seeds)"
    )
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
    names = {key: f"{series}={key}" if series else "mean" for key in groups}
    styles = series_styles([str(k) for k in groups], colors)
    ordered = {key: sorted(group, key=lambda r: float(r[param])) for key, group in groups.items()}
    same = identical_to(
        {names[k]: ([r[param] for r in rows], [r["mean"] for r in rows]) for k, rows in ordered.items()}
    )
    fig = new_figure(8, 6.2)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    at_bottom = blended_transform_factory(top.transData, top.transAxes)
    handles: list[Any] = []
    for key, rows in ordered.items():
        xs = [r[param] for r in rows]
        style = styles[str(key)]
        mean, half, n = (np.array([r[k] for r in rows], dtype=float) for k in ("mean", "ci_half_width", "n"))
        yerr = _error_bars(mean, half, n, rows[0]["metric"])
        label = legend_label(names[key], same)
        handles.append(top.errorbar(xs, mean, yerr=yerr, capsize=4, label=label, **style.kwargs()))
        bottom.plot(xs, [r[spread] for r in rows], label=label, **style.kwargs())
        color = style.color
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
    top.set_ylabel(f"final {metric_label(metric)}\n(mean, CI from n={MIN_INTERVAL_N}; dots: seeds)")
    bottom.set_ylabel(f"across-seed {'variance' if spread == 'var' else spread}")
    bottom.set_xlabel(param)
    top.set_title(title or f"final {metric_label(metric)} and its spread vs. {param}")
    if any(final.column("diverged")):
        handles += top.plot([], [], "x", color=DIVERGED_COLOR, mew=2, label="diverged runs")
    top.legend(handles=handles, loc="best")
    return fig
