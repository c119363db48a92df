"""The ``signal`` section: per-layer activation std, input signal, gradient std and dead/saturated
fractions at init (overview heatmaps of every condition), their profiles through depth at init and at
the last recorded step, and, when the probe recorded quantiles, the per-layer activation and gradient
distributions (folded: one row of panels per condition). Figures average over seeds: the geometric
mean for scales, the arithmetic mean for means and fractions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.probes.plots import activation_layers, quantile_bands
from initlab.probes.table import steps
from initlab.records import ProbeRow
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import new_figure, styled
from initlab.report.html import Details, FigureBlock, Section, Text
from initlab.report.probe_sections.common import (
    MAX_LINES,
    ProbeRuns,
    arithmetic_mean,
    geometric_mean,
    log10,
)
from initlab.report.probe_sections.panels import (
    ANNOTATE_LIMIT,
    bands_legend,
    condition_heatmap,
    heatmap_figure,
    per_condition_panels,
    seeded,
)
from initlab.report.series import identical_to, legend_label, series_styles
from initlab.report.tables import Table

#: Signal quantities drawn, with their axis labels and whether they are drawn on a log scale.
SIGNAL_QUANTITIES: tuple[tuple[str, str, bool], ...] = (
    ("std", "activation std", True),
    ("input_signal", "input signal (std across samples)", True),
    ("grad_std", "std of ∂L/∂activation", True),
    ("mean", "activation mean", False),
    ("inactive", "dead (ReLU) or saturated (tanh, sigmoid) fraction", False),
)
#: The ``inactive`` fraction of a run: its dead fraction where it has ReLU units, else its saturated one.
INACTIVE = ("dead_fraction", "saturated_fraction")
#: A profile line with more points than this draws a marker on every k-th point only.
MARKED_POINTS = 15

Pivots = dict[str, dict[str, dict[int, float]]]
"""``{quantity: {layer: {step: value}}}`` of one run."""


def all_pivots(rows: Sequence[ProbeRow]) -> Pivots:
    """Every quantity of ``rows`` pivoted, in one pass."""
    out: Pivots = {}
    for r in rows:
        out.setdefault(r.name, {}).setdefault(r.layer, {})[r.step] = r.value
    return out


@dataclass(frozen=True)
class SignalRuns:
    """Each condition's runs pivoted once, and its activation layers (input to output)."""

    pivots: dict[str, list[Pivots]]
    activations: dict[str, list[str]]
    steps: dict[str, list[int]]

    @classmethod
    def of(cls, runs: ProbeRuns) -> SignalRuns:
        pivots = {c: [all_pivots(rows) for rows in runs.runs(c)] for c in runs.labels}
        activations, recorded = {}, {}
        for condition in runs.labels:
            _, rep = runs.representative(condition)
            activations[condition] = activation_layers(rep)
            recorded[condition] = steps(rep)
        return cls(pivots, activations, recorded)

    def names(self) -> set[str]:
        names = {name for tables in self.pivots.values() for t in tables for name in t}
        return names | ({"inactive"} if names & set(INACTIVE) else set())

    def at(self, condition: str, name: str, step: int, log: bool) -> list[float]:
        """Quantity ``name`` per activation layer at ``step``, averaged over the condition's runs:
        geometric mean for scales (``log``), arithmetic mean for means and fractions."""
        average: Callable[[Sequence[float]], float] = geometric_mean if log else arithmetic_mean
        tables = [_quantity(t, name) for t in self.pivots[condition]]
        return [
            average([t.get(layer, {}).get(step, math.nan) for t in tables])
            for layer in self.activations[condition]
        ]


def _quantity(pivots: Pivots, name: str) -> dict[str, dict[int, float]]:
    if name == "inactive":
        return next((pivots[n] for n in INACTIVE if n in pivots), {})
    return pivots.get(name, {})


@styled
def signal_overview(signal: SignalRuns, quantities: Sequence[tuple[str, str, bool]]) -> Figure:
    """One heatmap per quantity at init: a row per condition, a column per activation layer."""
    shown = [q for q in quantities if q[0] != "mean"]
    widest = max((len(layers) for layers in signal.activations.values()), default=1)
    fig, axes, per_row = heatmap_figure(len(signal.pivots), len(shown), widest)
    for i, (ax, (name, label, log)) in enumerate(zip(axes, shown, strict=True)):
        cells = {}
        for condition, recorded in signal.steps.items():
            values = signal.at(condition, name, recorded[0], log)
            cells[condition] = [log10(v) for v in values] if log else values
        condition_heatmap(
            ax,
            cells,
            align="left",
            label="log10 of the value" if log else "fraction",  # the panel's title names the quantity
            xlabel="activation layer from the input (1 = the first)",
            fmt="{:.1f}" if log else "{:.2f}",
            cmap="magma" if log else "viridis",
            vmin=None if log else 0.0,
            vmax=None if log else 1.0,
            ylabels=i % per_row == 0,
            annotate_up_to=ANNOTATE_LIMIT[0] // per_row,
            colorbar="right" if per_row == 1 else "bottom",
        )
        ax.set_title(f"{label} at init", fontsize=9)
    return fig


@styled
def signal_profiles(
    signal: SignalRuns, shown: Sequence[str], quantities: Sequence[tuple[str, str, bool]]
) -> Figure:
    """Each quantity through depth, a line per condition (its own colour and marker) at init (solid)
    and at the last recorded step (dashed); a condition whose lines equal another's says so."""
    columns = 2
    count = math.ceil(len(quantities) / columns)
    fig = new_figure(11, 0.8 + 3.0 * count)
    axes = fig.subplots(count, columns, squeeze=False).ravel()
    for ax in axes[len(quantities) :]:
        ax.set_visible(False)
    styles = series_styles(list(shown))
    profiles = {
        c: [(s, signal.at(c, name, s, log)) for name, _, log in quantities for s in _ends(signal.steps[c])]
        for c in shown
    }
    same = identical_to({c: ([], [v for _, values in p for v in values]) for c, p in profiles.items()})
    for ax, (name, label, log) in zip(axes, quantities, strict=False):
        for k, condition in enumerate(shown):
            for step, linestyle in zip(_ends(signal.steps[condition]), ("-", "--"), strict=False):
                values = signal.at(condition, name, step, log)
                every = max(1, math.ceil(len(values) / MARKED_POINTS))
                ax.plot(np.arange(1, len(values) + 1), values, color=styles[condition].color,
                        marker=styles[condition].marker, markersize=4, markevery=(k % every, every),
                        linestyle=linestyle)  # fmt: skip
        ax.set_xlabel("activation layer from the input")
        ax.set_title(label, fontsize=10)  # above the panel: too long for a y label
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log and any(np.nanmax(line.get_ydata(), initial=0) > 0 for line in ax.get_lines()):
            ax.set_yscale("log")
    Line2D = matplotlib.lines.Line2D
    handles = [
        Line2D([], [], color=styles[c].color, marker=styles[c].marker, label=legend_label(c, same))
        for c in shown
    ]
    handles += [
        Line2D([], [], color="0.3", linestyle="-", label="at init (step 0)"),
        Line2D([], [], color="0.3", linestyle="--", label="last recorded step"),
    ]
    fig.legend(handles=handles, loc="outside lower center", fontsize=8)
    return fig


def _ends(recorded: Sequence[int]) -> list[int]:
    """The first and the last recorded step (one step if only one was recorded)."""
    return sorted({recorded[0], recorded[-1]})


@styled
def signal_distributions(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    """Activation and gradient quantile bands per layer at init, one row per condition."""
    reps = {c: runs.representative(c) for c in shown}
    fig, axes = per_condition_panels([seeded(c, reps[c][0]) for c in shown], 2, 11, 2.8)
    for (act_ax, grad_ax), condition in zip(axes, shown, strict=True):
        rep = reps[condition][1]
        acts = set(activation_layers(rep))
        first = min(r.step for r in rep)
        at_init = [r for r in rep if r.layer in acts and r.step == first]
        quantile_bands(act_ax, at_init, ylabel="activation")
        quantile_bands(grad_ax, at_init, prefix="grad_", ylabel="∂L/∂activation")
    bands_legend(fig, axes[0][0])
    return fig


@PROBE_SECTIONS.register("signal")
def signal_section(rows: Table) -> Section:
    """Signal propagation: per-layer statistics at init (overview), profiles, distributions."""
    runs = ProbeRuns.of(rows)
    signal = SignalRuns.of(runs)
    shown = runs.detail(MAX_LINES)
    names = signal.names()
    quantities = [q for q in SIGNAL_QUANTITIES if q[0] in names]
    blocks: list[Any] = [
        Text(
            "Forward and backward signal per activation layer on the run's batch: the activation std; the "
            "input signal (per unit, the std across the batch's samples, averaged over units: how much the "
            "layer still depends on its input; biases can hold the plain std up while it collapses); the "
            "std of the loss's gradient with respect to the activation; the fractions of dead ReLU units "
            "(zero for every sample) and of saturated tanh/sigmoid units."
        ),
        FigureBlock.of(
            "probe_signal_overview",
            signal_overview(signal, quantities),
            "Per-layer signal at init (step 0), one row per condition, averaged over seeds (geometric mean "
            "for the log-scale quantities, arithmetic for fractions); grey: not measured or exactly 0.",
        ),
        FigureBlock.of(
            "probe_signal_profiles",
            signal_profiles(signal, shown, quantities),
            "The same quantities through depth, at init (solid) and at the last recorded step (dashed), "
            "averaged over seeds as above." + runs.detail_note(shown),
        ),
    ]
    if "p50" in names:
        detail = runs.detail()
        distributions = FigureBlock.of(
            "probe_signal_distributions",
            signal_distributions(runs, detail),
            "Distribution of each activation (left) and of the loss's gradient with respect to it "
            "(right) per layer at init: exact quantiles over the batch (bands min–max, 1–99%, 25–75%, "
            "the median line; symmetric-log axis), lowest-seed run (the makemore histograms as "
            "order statistics)." + runs.detail_note(detail),
        )
        blocks.append(
            Details(f"activation and gradient distributions per condition ({len(detail)})", [distributions])
        )
    return Section("Signal propagation (probe signal)", blocks)
