"""The rank-gap study's figures: effective rank over training per layer, the gap against the rank
deficit, and each intervention's deficit and gap."""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure

from initlab.report import palette
from initlab.report.figures import new_figure, styled
from initlab.report.stats import MIN_INTERVAL_N
from initlab.studies.rank_gap.facts import Point, RunFacts, settings_of, where
from initlab.studies.verdicts import mean_interval

ARM_STYLE = {"default": ("0.35", "--"), "zero": ("C3", "-")}


def _band(values: list[list[float]]) -> tuple[list[float], list[float], list[float]]:
    """Mean and band per step: the 95% t interval from ``MIN_INTERVAL_N`` seeds, else the range."""
    means, lows, highs = [], [], []
    for column in values:
        mean, low, high = mean_interval(column)
        if len(column) < MIN_INTERVAL_N:
            low, high = min(column), max(column)
        means.append(mean)
        lows.append(low)
        highs.append(high)
    return means, lows, highs


#: Panels per row of the rank curves.
COLUMNS = 4


@styled
def rank_curves_figure(facts: Sequence[RunFacts]) -> Figure:
    """One panel per (setting, weight layer), :data:`COLUMNS` a row: effective rank over the steps,
    default dashed and zero weights solid, mean over seeds with a band."""
    panels = [(s, layer) for s in settings_of(facts) for layer in where(facts, setting=s)[0].layers]
    rows = max(math.ceil(len(panels) / COLUMNS), 1)
    fig = new_figure(12, 2.6 * rows)
    axes = fig.subplots(rows, COLUMNS, squeeze=False).ravel()
    for ax, (setting, layer) in zip(axes, panels, strict=False):
        for arm, (color, line) in ARM_STYLE.items():
            runs = where(facts, setting=setting, arm=arm)
            steps = (
                sorted(set.intersection(*(set(f.effective_rank.get(layer, {})) for f in runs)))
                if runs
                else []
            )
            if not steps:
                continue
            mean, low, high = _band([[f.effective_rank[layer][s] for f in runs] for s in steps])
            ax.plot(steps, mean, line, color=color, linewidth=1.2, label=arm)
            ax.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
        ax.set_title(f"{setting}: {layer}", fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("effective rank", fontsize=8)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7)
    return fig


@styled
def gap_vs_deficit_figure(points: Sequence[Point]) -> Figure:
    """Accuracy gap to the default against the rank deficit: one colour per setting, one dot per
    (seed, epoch), the epoch written beside it."""
    fig = new_figure(7, 4.5)
    ax = fig.subplots()
    settings = list(dict.fromkeys(p.setting for p in points))
    colors = palette(settings)
    for setting, color in colors.items():
        mine = [p for p in points if p.setting == setting]
        ax.plot([p.deficit for p in mine], [p.gap for p in mine], "o", color=color, label=setting, alpha=0.8)
        for p in mine:
            ax.annotate(
                str(p.epoch), (p.deficit, p.gap), fontsize=6, xytext=(3, 2), textcoords="offset points"
            )
    ax.axhline(0, color="0.7", linewidth=0.8)
    ax.set_xlabel("rank deficit: mean over layers of 1 − r_zero/r_default")
    ax.set_ylabel("test-accuracy gap: default − zero")
    ax.set_title("Accuracy gap against rank deficit, per seed and epoch", fontsize=10)
    if settings:
        ax.legend(fontsize=7)
    return fig


@styled
def intervention_figure(rows: Sequence[dict[str, object]]) -> Figure:
    """Per intervention: its rank deficit (x) and gap (y) at the last epoch, next to zero weights."""
    settings = list(dict.fromkeys(str(r["setting"]) for r in rows))
    fig = new_figure(6 * max(len(settings), 1), 4.2)
    axes = fig.subplots(1, max(len(settings), 1), squeeze=False)[0]
    for ax, setting in zip(axes, settings, strict=False):
        mine = [r for r in rows if r["setting"] == setting]
        colors = palette([str(r["arm"]) for r in mine])
        labels: dict[tuple[float, float], list[str]] = {}  # arms at one point share one label
        for r in mine:
            x, y = float(r["rank deficit"]), float(r["gap"])  # type: ignore[arg-type]
            if math.isfinite(x) and math.isfinite(y):
                ax.plot(x, y, "o", color=colors[str(r["arm"])], markersize=6)
                labels.setdefault((round(x, 3), round(y, 3)), []).append(str(r["arm"]))
        for (x, y), arms in labels.items():
            ax.annotate(", ".join(arms), (x, y), fontsize=7, xytext=(4, 2), textcoords="offset points")
        ax.axhline(0, color="0.7", linewidth=0.8)
        ax.set_title(f"{setting}: interventions at the last epoch", fontsize=10)
        ax.set_xlabel("rank deficit (mean over seeds)")
        ax.set_ylabel("gap to its default (mean over seeds)")
    if not settings:
        axes[0].set_axis_off()
    return fig
