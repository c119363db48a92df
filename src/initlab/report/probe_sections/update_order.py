"""The ``update-order`` section: the first step each weight tensor changes, per condition (an overview
of every condition on a discrete step scale), the tensor × step chart of ‖Δ‖ with first-gradient and
first-change markers (folded: one panel per condition), and the table of every tensor's events."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from initlab.probes.plots import update_order_chart
from initlab.probes.table import layers
from initlab.probes.update_order import EVENTS
from initlab.records import ProbeRow
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import new_figure, styled
from initlab.report.html import Details, FigureBlock, Section, TableBlock, Text
from initlab.report.probe_sections.common import ProbeRuns, weight_tensors
from initlab.report.probe_sections.panels import condition_heatmap, heatmap_figure, seeded
from initlab.report.tables import Table


def first_events(rows: Sequence[ProbeRow]) -> dict[str, dict[str, int]]:
    """``{tensor: {event: step}}`` from update-order event rows (a tensor that never moved lacks it)."""
    out: dict[str, dict[str, int]] = {name: {} for name in layers(rows)}
    for r in rows:
        if r.name in EVENTS:
            out[r.layer][r.name] = int(r.value)
    return out


@styled
def update_order_overview(runs: ProbeRuns) -> Figure:
    """First change step per weight tensor (columns aligned at the head), one row per condition."""
    cells: dict[str, list[float]] = {}
    marks: dict[str, list[bool]] = {}
    for condition in runs.labels:
        _, rep = runs.representative(condition)
        tensors = weight_tensors(rep)
        per_run = [first_events(rows) for rows in runs.runs(condition)]
        first = first_events(rep)
        cells[condition] = [float(first[t].get("first_change_step", math.nan)) for t in tensors]
        marks[condition] = [
            len({events.get(t, {}).get("first_change_step") for events in per_run}) > 1 for t in tensors
        ]
    fig, (ax,), _ = heatmap_figure(len(cells))
    condition_heatmap(
        ax,
        cells,
        align="right",
        label="first step the tensor changes",
        xlabel="weight tensor, counted back from the output (0 = the head)",
        marks=marks,
        whole=True,
    )
    ax.set_title("first change step per weight tensor")
    return fig


@styled
def update_order_details(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    """The update-order chart of each shown condition's lowest-seed run, two panels a row."""
    columns = 2 if len(shown) > 1 else 1
    pairs = [shown[i : i + columns] for i in range(0, len(shown), columns)]
    heights = [
        min(8.0, max(2.4, 1.0 + 0.15 * max(len(layers(runs.representative(c)[1])) for c in pair)))
        for pair in pairs
    ]
    fig = new_figure(11, sum(heights))
    axes = fig.subplots(len(pairs), columns, squeeze=False, height_ratios=heights).ravel()
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    for ax, condition in zip(axes, shown, strict=False):
        seed, rep = runs.representative(condition)
        update_order_chart(ax, rep)
        ax.set_title(seeded(condition, seed), fontsize=8, loc="left")
    return fig


def update_order_table(runs: ProbeRuns) -> Table:
    """Per condition and tensor: each event's first step, min and max over the runs."""
    rows = []
    for condition in runs.labels:
        per_run = [first_events(r) for r in runs.runs(condition)]
        for tensor in layers(runs.representative(condition)[1]):
            events = [e.get(tensor, {}) for e in per_run]
            row: dict[str, Any] = {"condition": condition, "tensor": tensor, "runs": len(events)}
            for event in EVENTS:
                seen = [e[event] for e in events if event in e]
                row[f"{event} min"] = min(seen) if seen else None
                row[f"{event} max"] = max(seen) if seen else None
            row["never changed"] = sum("first_change_step" not in e for e in events)
            rows.append(row)
    return Table.from_rows(rows)


@PROBE_SECTIONS.register("update-order")
def update_order_section(rows: Table) -> Section:
    """Update order: overview of first-change steps, the layer × step chart, the events table."""
    runs = ProbeRuns.of(rows)
    shown = runs.detail()
    chart = FigureBlock.of(
        "probe_update_order_chart",
        update_order_details(runs, shown),
        "Update-order chart of each condition's lowest-seed run: parameter tensors × recorded steps (one "
        "column per step; dotted lines where steps were skipped), coloured by log10 ‖Δ‖ of the step "
        "(white: no change; grey: not recorded), ○ first non-zero gradient, ● first change."
        + runs.detail_note(shown),
    )
    return Section(
        "Update order (probe update-order)",
        [
            Text(
                "Step s is the s-th optimizer step (0-based). A tensor's first change is the first step "
                "that alters any of its elements at all; its first gradient, the first step its gradient "
                "has a non-zero element."
            ),
            FigureBlock.of(
                "probe_update_order_overview",
                update_order_overview(runs),
                "First step each weight tensor changes, per condition, in its lowest-seed run; the columns "
                "are aligned at the output, so column k is k tensors back from the head. * marks a tensor "
                "whose first change differs between seeds; grey: it never changed in the recorded steps.",
            ),
            Details(f"update-order chart per condition ({len(shown)} conditions)", [chart]),
            TableBlock(
                "probe_update_order_events",
                update_order_table(runs),
                "first gradient, first change and first relative change (above the probe's threshold) of "
                "every parameter tensor, min and max over the condition's runs",
                collapsed=True,
            ),
        ],
    )
