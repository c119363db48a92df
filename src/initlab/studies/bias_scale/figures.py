"""The bias-scale figures: a per-run value against the bias scale, and single runs' curves.

Both draw each setting (and each run) with its own colour, marker and line style, so that points and
curves that coincide stay visible; values are drawn only where runs were made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from initlab.report import mean_ci, palette
from initlab.report.figures import DIVERGED_COLOR, new_figure, styled
from initlab.studies.bias_scale.results import Results, ScaleResult, curve

MARKERS = ("o", "s", "^", "D", "v", "P")
LINE_STYLES = ("-", "--", "-.", ":")
#: Settings are drawn this many decades apart around each scale, so that equal values stay visible.
DODGE = 0.03
#: What a value can be: an accuracy lies in [0, 1], jaggedness in [0, ∞).
ACCURACY_RANGE, JAGGEDNESS_RANGE = (0.0, 1.0), (0.0, math.inf)


def _style(i: int) -> dict[str, str]:
    return {"marker": MARKERS[i % len(MARKERS)], "linestyle": LINE_STYLES[i % len(LINE_STYLES)]}


def clipped_error_bars(mean: np.ndarray, half: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Error-bar lengths ``[[below], [above]]`` of mean ± half, cut at the bounds of ``value_range``
    (a t interval over 2 seeds can reach below 0 for J ≥ 0); 0 where the interval is undefined."""
    low, high = value_range
    half = np.nan_to_num(half)
    return np.nan_to_num(
        np.stack([mean - np.maximum(mean - half, low), np.minimum(mean + half, high) - mean])
    )


@styled
def plot_against_scale(
    results: Results,
    values: Callable[[ScaleResult], Sequence[float]],
    *,
    label: str,
    value_range: tuple[float, float],
    title: str,
) -> Figure:
    """Per setting, the mean of ``values`` over its finished runs with the 95% t interval (drawn within
    ``value_range``; dots: single seeds) on top, and their across-seed variance below, against the
    bias scale on a log axis.

    A setting is drawn only at the scales it ran: its line breaks at a scale that only other settings
    ran, so no line crosses a scale without runs. Settings sit ``DODGE`` decades apart around each
    scale. Diverged runs are counted and marked ✕ at the bottom.
    """
    scales = sorted({s for by_scale in results.values() for s in by_scale})
    colors = palette(list(results))
    fig = new_figure(8, 6.2)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    at_bottom = blended_transform_factory(top.transData, top.transAxes)
    for i, (setting, by_scale) in enumerate(results.items()):
        color, style = colors[setting], _style(i)
        shift = 10 ** (DODGE * (i - (len(results) - 1) / 2))
        xs = [s * shift for s in scales]
        stats = [mean_ci(values(by_scale[s]) if s in by_scale else []) for s in scales]
        mean = np.array([c.mean for c in stats])
        half = np.array([c.half_width for c in stats])
        top.errorbar(
            xs,
            mean,
            yerr=clipped_error_bars(mean, half, value_range),
            capsize=4,
            color=color,
            label=setting,
            **style,
        )
        bottom.plot(xs, [c.var for c in stats], color=color, label=setting, **style)
        for scale, result in by_scale.items():
            seeds = values(result)
            top.plot(
                [scale * shift] * len(seeds), seeds, style["marker"], color=color, mfc="none", alpha=0.5, ms=5
            )
            if result.diverged:
                top.plot(
                    scale * shift, 0.03, "x", color=DIVERGED_COLOR, markersize=10, mew=2, transform=at_bottom
                )
                top.annotate(
                    f"{setting}: {result.diverged}/{len(result.condition.runs)} diverged",
                    (scale * shift, 0.03),
                    xycoords=at_bottom,
                    xytext=(6, 4 + 10 * i),
                    textcoords="offset points",
                    color=DIVERGED_COLOR,
                    fontsize=8,
                )
    bottom.set_xscale("log")
    bottom.xaxis.set_major_locator(FixedLocator(scales))
    bottom.xaxis.set_minor_locator(NullLocator())
    bottom.set_xticklabels([f"{s:g}" for s in scales])
    top.set_ylabel(f"{label}\n(mean, 95% CI; hollow: seeds)")
    bottom.set_ylabel("across-seed variance")
    bottom.set_xlabel("bias scale s (b ~ N(0, s²)); only the scales that were run")
    top.set_title(title)
    top.legend(loc="best")
    return fig


@styled
def plot_single_runs(results: Sequence[ScaleResult], *, title: str) -> Figure:
    """Every run's test-accuracy curve, one line per run (no mean, no interval): colour by scale,
    marker and line style by seed, so runs that coincide stay visible."""
    colors = palette([f"{r.scale:g}" for r in results])
    fig = new_figure(8, 4.6 + 0.2 * sum(len(r.condition.runs) for r in results))
    ax = fig.add_subplot()
    for result in results:
        for i, run in enumerate(sorted(result.condition.runs, key=lambda r: r.record.seed)):
            accuracy = curve(run)
            note = "" if run.status == "finished" else f" ({run.status})"
            ax.plot(
                range(len(accuracy)),
                accuracy,
                color=colors[f"{result.scale:g}"],
                markersize=4,
                label=f"scale {result.scale:g}, seed {run.record.seed}{note}",
                **_style(i),
            )
    ax.set_xlabel("epoch (0: at init)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test accuracy of each run")
    ax.set_ylim(*ACCURACY_RANGE)
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncols=2)
    return fig
