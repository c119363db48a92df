"""The ``symmetry`` section: the verdicts table (groups of identical units, permanent or not, at the
first and the last recorded step), the numerical rank per layer at the last step (an overview of
every condition, on a discrete scale) and the growth of the numerical and effective rank over the
steps (folded: one row of panels per condition)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.probes.table import layers, pivot, steps
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import styled
from initlab.report.html import Details, FigureBlock, Section, TableBlock, Text
from initlab.report.probe_sections.common import FOLD_ROWS, ProbeRuns, at_step
from initlab.report.probe_sections.panels import (
    condition_heatmap,
    depth_colors,
    heatmap_figure,
    layer_legend,
    per_condition_panels,
    seeded,
)
from initlab.report.tables import Table


def _permanent(values: dict[str, float]) -> str:
    largest = values.get("permanent_largest_group")
    if largest is None:
        return "not analysed"
    return "permanent" if largest > 1 else "no"


def _count(values: dict[str, float], name: str) -> int | None:
    value = values.get(name)
    return None if value is None else int(value)


def symmetry_table(runs: ProbeRuns) -> Table:
    """Per condition and layer: groups and verdicts at the first and last step of the lowest-seed run,
    its rank at the last, and whether every seed reached the same final verdict."""
    rows = []
    for condition in runs.labels:
        seed, rep = runs.representative(condition)
        recorded = steps(rep)
        first, last = recorded[0], recorded[-1]
        at = {s: at_step(rep, s) for s in (first, last)}
        verdicts = [
            {layer: _permanent(v) for layer, v in at_step(r, steps(r)[-1]).items()}
            for r in runs.runs(condition)
        ]
        for layer in at[first]:
            a, b = at[first][layer], at[last].get(layer, {})
            rows.append(
                {
                    "condition": condition,
                    "seed": seed,
                    "layer": layer,
                    "units": _count(a, "units"),
                    "first step": first,
                    "distinct": _count(a, "distinct"),
                    "largest group": _count(a, "largest_group"),
                    "verdict": _permanent(a),
                    "last step": last,
                    "distinct (last)": _count(b, "distinct"),
                    "largest group (last)": _count(b, "largest_group"),
                    "verdict (last)": _permanent(b),
                    "rank (last)": b.get("rank"),
                    "effective rank (last)": b.get("effective_rank"),
                    "seeds agree (last)": len({v.get(layer) for v in verdicts}) == 1,
                }
            )
    return Table.from_rows(rows)


@styled
def rank_overview(runs: ProbeRuns) -> Figure:
    """The numerical rank of every weight matrix at the last recorded step, one row per condition."""
    cells = {}
    for condition in runs.labels:
        _, rep = runs.representative(condition)
        last = at_step(rep, steps(rep)[-1])
        cells[condition] = [values.get("rank", math.nan) for values in last.values()]
    fig, (ax,), _ = heatmap_figure(len(cells))
    condition_heatmap(
        ax,
        cells,
        align="right",
        label="numerical rank",
        xlabel="weight layer, counted back from the output (0 = the head)",
        cmap="cividis",
        vmin=0,
        whole=True,
    )
    ax.set_title("numerical rank of each weight matrix at the last recorded step")
    return fig


@styled
def rank_growth(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    """Numerical and effective rank per layer over the steps, one row of two panels per condition."""
    reps = {c: runs.representative(c) for c in shown}
    fig, axes = per_condition_panels([seeded(c, reps[c][0]) for c in shown], 2, 11, 2.8, right=1.0)
    for (rank_ax, eff_ax), condition in zip(axes, shown, strict=True):
        rep = reps[condition][1]
        names = layers([r for r in rep if r.name == "rank"])
        colors = depth_colors(len(names))
        for ax, name in ((rank_ax, "rank"), (eff_ax, "effective_rank")):
            table = pivot(rep, name)
            for layer, color in zip(names, colors, strict=True):
                xs = sorted(table.get(layer, {}))
                ax.plot(xs, [table[layer][s] for s in xs], color=color, label=layer, linewidth=1.2)
            ax.set_xlabel("step")
            ax.set_ylabel(name.replace("_", " "))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        rank_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        layer_legend(eff_ax.figure, eff_ax, names)
    return fig


@PROBE_SECTIONS.register("symmetry")
def symmetry_section(rows: Table) -> Section:
    """Symmetry: the verdicts table, the rank per layer (overview) and the rank growth."""
    runs = ProbeRuns.of(rows)
    shown = runs.detail()
    table = symmetry_table(runs)
    growth = FigureBlock.of(
        "probe_symmetry_rank_growth",
        rank_growth(runs, shown),
        "Numerical (left) and effective (right) rank of every weight matrix over the recorded steps, one "
        "line per layer from the input (light) to the output (dark), lowest-seed run."
        + runs.detail_note(shown),
    )
    return Section(
        "Symmetry and rank (probe symmetry)",
        [
            Text(
                "Groups of identical units per weight layer, and whether the largest group is a permanent "
                "symmetry (identical incoming, per-unit and outgoing slices and optimizer state, and a loss "
                "that treats the units alike: no step can separate them; see `initlab probes symmetry`). "
                "Rank: the numerical rank of the weight matrix; effective rank: exp of the entropy of its "
                "normalized singular values."
            ),
            TableBlock(
                "probe_symmetry_verdicts",
                table,
                "symmetry per layer at the first and the last recorded step, lowest-seed run of each "
                "condition; 'seeds agree' says whether every seed reached the same verdict at its last step",
                collapsed=len(table) > FOLD_ROWS,
            ),
            FigureBlock.of(
                "probe_symmetry_rank",
                rank_overview(runs),
                "Numerical rank of every weight matrix at the last recorded step, lowest-seed run of each "
                "condition; columns aligned at the output.",
            ),
            Details(f"rank growth per condition ({len(shown)} conditions)", [growth]),
        ],
    )
