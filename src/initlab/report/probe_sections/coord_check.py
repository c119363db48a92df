"""The ``coord-check`` section, and muP's coordinate-check figure (also drawn by ``initlab coord-check``).

The figure follows microsoft/mup's ``plot_coord_data``: one panel per step, mean |coordinate| of each
module's output against width on log-log axes, one line per module (coloured from the input to the
output); a module whose verdict is unstable (:mod:`initlab.probes.coord_verdict`) is drawn thick and
named in the legend. In a report, conditions whose labels differ only in ``width=N`` form one
coordinate check (the overview heatmap shows every condition otherwise).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from matplotlib.figure import Figure

from initlab.probes.coord_verdict import CoordValues, CoordVerdict, coord_verdicts
from initlab.probes.table import at_step, layers, steps
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import new_figure, styled
from initlab.report.html import FigureBlock, Section, TableBlock
from initlab.report.probe_sections.common import ProbeRuns, arithmetic_mean, log10
from initlab.report.probe_sections.panels import condition_heatmap, depth_colors, heatmap_figure
from initlab.report.tables import Table

WIDTH = re.compile(r"\bwidth=(\d+)")


@styled
def coord_check_figure(values: CoordValues, verdicts: Sequence[CoordVerdict], title: str) -> Figure:
    """log-log mean |activation| against width, one panel per step, one line per module."""
    widths = sorted(values)
    modules = [v.module for v in verdicts]
    unstable = {v.module for v in verdicts if not v.stable}
    recorded = sorted({step for step, _ in values[widths[0]]})
    fig = new_figure(3.2 * len(recorded) + 1.6, 3.2)
    axes = fig.subplots(1, len(recorded), squeeze=False)[0]
    colors = depth_colors(len(modules))
    for ax, step in zip(axes, recorded, strict=True):
        for module, color in zip(modules, colors, strict=True):
            ys = [values[w].get((step, module), math.nan) for w in widths]
            thick = module in unstable
            label = module if thick and step == recorded[0] else None
            ax.plot(widths, ys, marker="o", ms=2.5, color=color, lw=2.0 if thick else 0.8,
                    alpha=1.0 if thick else 0.6, label=label)  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.set_title(f"step {step} (muP t={step + 1})", fontsize=9)
        ax.set_xlabel("width", fontsize=8)
    axes[0].set_ylabel("mean |activation|")
    if unstable:
        fig.legend(loc="outside right upper", fontsize=7, title="unstable", title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def verdict_rows(verdicts: Sequence[CoordVerdict], tolerance: float) -> list[dict[str, object]]:
    """The verdict table: one row per module."""
    return [
        {
            "module": v.module,
            "verdict": "stable" if v.stable else f"unstable (ratio outside 1/{tolerance:g}..{tolerance:g})",
            "worst ratio": round(v.worst_ratio, 3),
            "at step": v.worst_step,
            "between widths": f"{v.worst_widths[0]}→{v.worst_widths[1]}",
            "log-log slope": round(v.slope, 3),
            "zero at first step": v.zero_at_first_step,
        }
        for v in verdicts
    ]


def width_families(runs: ProbeRuns) -> dict[str, dict[int, str]]:
    """``{label without width: {width: condition}}`` for labels that name a width, ≥ 2 widths each."""
    families: dict[str, dict[int, str]] = {}
    for label in runs.labels:
        match = WIDTH.search(label)
        if match:
            families.setdefault(WIDTH.sub("width=*", label), {})[int(match.group(1))] = label
    return {k: v for k, v in families.items() if len(v) >= 2}


def family_values(runs: ProbeRuns, members: dict[int, str]) -> CoordValues:
    """``{width: {(step, module): abs_mean averaged over the condition's seeds}}``."""
    values: dict[int, dict[tuple[int, str], float]] = {}
    for width, condition in members.items():
        collected: dict[tuple[int, str], list[float]] = {}
        for rows in runs.runs(condition):
            for r in rows:
                collected.setdefault((r.step, r.layer), []).append(r.value)
        values[width] = {k: arithmetic_mean(v) for k, v in collected.items()}
    return values


@styled
def coord_overview(runs: ProbeRuns) -> Figure:
    """log10 mean |activation| per module at the last recorded step, one row per condition."""
    cells = {}
    for condition in runs.labels:
        _, rows = runs.representative(condition)
        last = at_step(rows, steps(rows)[-1])
        cells[condition] = [log10(last.get(m, {}).get("abs_mean")) for m in layers(rows)]
    fig, (ax,), _ = heatmap_figure(len(cells))
    condition_heatmap(ax, cells, align="left", label="log10 mean |activation|",
                      xlabel="module, in forward order (1 = the first)", fmt="{:.1f}")  # fmt: skip
    ax.set_title("mean |activation| per module at the last recorded step (lowest seed)")
    return fig


@PROBE_SECTIONS.register("coord-check")
def coord_check_section(rows: Table, tolerance: float = 1.2) -> Section:
    """The overview heatmap, and per family of widths the coordinate-check figure and verdicts."""
    runs = ProbeRuns.of(rows)
    blocks: list[object] = [
        FigureBlock.of(
            "probe_coord_check_overview",
            coord_overview(runs),
            "log10 of each module's mean |output coordinate| (muP's coord check l1) at the last recorded "
            "step of each condition's lowest-seed run; grey: exactly 0.",
        )
    ]
    for i, (family, members) in enumerate(width_families(runs).items()):
        values = family_values(runs, members)
        verdicts = coord_verdicts(values, tolerance=tolerance)
        unstable = [v.module for v in verdicts if not v.stable]
        blocks += [
            FigureBlock.of(
                f"probe_coord_check_{i}",
                coord_check_figure(values, verdicts, family),
                f"Coordinate check of {family} over widths {', '.join(map(str, sorted(members)))}: mean "
                "|activation| against width per step, averaged over seeds. "
                + (f"Unstable in width: {', '.join(unstable)}." if unstable else "Every module is stable."),
            ),
            TableBlock(f"probe_coord_check_verdicts_{i}", Table.from_rows(verdict_rows(verdicts, tolerance))),
        ]
    return Section("Coordinate check across widths (probe coord-check)", blocks)
