"""The ``grad-dist`` section: the weight-gradient norm per layer at the first recorded step (an
overview of every condition), and the gradient quantiles of a few layers over the recorded steps
(folded: one row of panels per condition)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.probes.plots import quantiles_over_steps
from initlab.probes.table import layers, pivot
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import styled
from initlab.report.html import Details, FigureBlock, Section
from initlab.report.probe_sections.common import (
    MAX_LAYER_PANELS,
    ProbeRuns,
    evenly_spaced,
    geometric_mean,
    log10,
)
from initlab.report.probe_sections.panels import (
    bands_legend,
    condition_heatmap,
    heatmap_figure,
    panel_label,
    per_condition_panels,
    seeded,
)
from initlab.report.tables import Table


@styled
def gradient_overview(runs: ProbeRuns) -> Figure:
    """log10 ‖∂L/∂W‖ per layer at the first recorded step, geometric mean over seeds."""
    cells: dict[str, list[float]] = {}
    for condition in runs.labels:
        norms = [pivot(rows, "norm") for rows in runs.runs(condition)]
        first = {layer: min(by_step) for layer, by_step in norms[0].items()} if norms else {}
        cells[condition] = [
            log10(geometric_mean([n.get(layer, {}).get(step, 0.0) for n in norms]))
            for layer, step in first.items()
        ]
    fig, (ax,), _ = heatmap_figure(len(cells))
    condition_heatmap(
        ax,
        cells,
        align="right",
        label="log10 ‖∂L/∂W‖",
        xlabel="weight layer, counted back from the output (0 = the head)",
        fmt="{:.1f}",
        cmap="magma",
    )
    ax.set_title("weight-gradient norm per layer at the first recorded step")
    return fig


@styled
def gradient_details(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    """Quantile bands over the steps of up to :data:`MAX_LAYER_PANELS` layers per shown condition."""
    reps = {c: runs.representative(c) for c in shown}
    fig, axes = per_condition_panels([seeded(c, reps[c][0]) for c in shown], MAX_LAYER_PANELS, 12, 2.6)
    for row_axes, condition in zip(axes, shown, strict=True):
        rep = reps[condition][1]
        chosen = evenly_spaced(layers(rep), MAX_LAYER_PANELS)
        for ax in row_axes[len(chosen) :]:
            ax.set_visible(False)
        for ax, layer in zip(row_axes, chosen, strict=False):
            quantiles_over_steps(ax, rep, layer)
            panel_label(ax, layer)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        row_axes[0].set_ylabel("∂L/∂W quantiles")
    bands_legend(fig, axes[0][0])
    return fig


@PROBE_SECTIONS.register("grad-dist")
def gradient_section(rows: Table) -> Section:
    """Gradient distributions: the norm per layer (overview) and quantiles over the first steps."""
    runs = ProbeRuns.of(rows)
    shown = runs.detail()
    quantiles = FigureBlock.of(
        "probe_grad_dist_quantiles",
        gradient_details(runs, shown),
        "Exact quantiles of the weight gradient over the recorded steps (bands min–max, 1–99%, "
        f"25–75%, the median line; symmetric-log axis) for up to {MAX_LAYER_PANELS} layers of each "
        "condition's lowest-seed run (the first, evenly spaced ones, the last)." + runs.detail_note(shown),
    )
    return Section(
        "Gradient distributions (probe grad-dist)",
        [
            FigureBlock.of(
                "probe_grad_dist_overview",
                gradient_overview(runs),
                "log10 of each weight gradient's L2 norm at the first recorded step, geometric mean over "
                "seeds; columns aligned at the output; grey: the gradient is exactly zero in every seed.",
            ),
            Details(f"gradient quantiles per condition ({len(shown)} conditions)", [quantiles]),
        ],
    )
