"""The report sections of the probes: every report whose runs recorded a probe gets its charts.

Registered in :data:`initlab.report.build.PROBE_SECTIONS` (importing :mod:`initlab.report` registers
them), each builds one :class:`Section` from the probe's :func:`~initlab.report.tables.probe_table`
over all of a report's conditions:

- ``update-order``: the first step each weight tensor changes, per condition (an overview of every
  condition), the layer × step chart of ‖Δ‖ with first-gradient and first-change markers, and the
  table of every tensor's events;
- ``grad-dist``: the weight-gradient norm per layer at step 0 (overview), and the gradient quantiles
  of a few layers over the first steps;
- ``symmetry``: the symmetry verdicts table (groups of identical units, permanent or not, at the first
  and the last recorded step), the numerical rank per layer at the last step (overview) and the
  growth of the numerical and effective rank over the steps;
- ``signal``: per-layer activation std, input signal, gradient std and dead/saturated fractions at init
  (overview heatmaps), their profiles through depth at init and at the last recorded step, and, when
  the probe recorded quantiles, the per-layer activation and gradient distributions.

Many conditions and many layers stay readable: an overview figure has one heatmap row per condition
and one column per layer (aligned at the output for update order, gradients and rank, at the input for
signal), and detail figures draw at most :data:`MAX_DETAIL` conditions (:data:`MAX_LINES` in line
charts), evenly spaced through the report's order, and at most :data:`MAX_LAYER_PANELS` layers each;
axes that name layers label every k-th one beyond 40 (:func:`initlab.probes.plots.layer_ticks`).
Each caption says which seed a figure shows (the lowest seed of each condition) or how it averages
over seeds; the CSV tables hold every row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.probes.plots import (
    activation_layers,
    layer_ticks,
    quantile_bands,
    quantiles_over_steps,
    update_order_chart,
)
from initlab.probes.table import layers, pivot, steps
from initlab.records import ProbeRow
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import new_figure, palette, styled
from initlab.report.html import FigureBlock, Section, TableBlock, Text
from initlab.report.tables import Table

#: Conditions drawn in a detail figure (the overview figures show every condition); line charts, one
#: colour per condition, take up to MAX_LINES.
MAX_DETAIL = 6
MAX_LINES = 8
#: Layers given their own panel in a per-layer figure (first, evenly spaced, last).
MAX_LAYER_PANELS = 5
#: Heatmap cells are annotated with their value up to this many columns and rows.
ANNOTATE_LIMIT = (24, 60)
#: A table of more rows than this is folded under its caption.
FOLD_ROWS = 60
GREY = "0.85"


@dataclass(frozen=True)
class ProbeRuns:
    """A probe's rows grouped once: ``{condition: {run_id: rows}}`` in the report's order, and seeds."""

    conditions: dict[str, dict[str, list[ProbeRow]]]
    seeds: dict[str, int]

    @classmethod
    def of(cls, table: Table) -> ProbeRuns:
        conditions: dict[str, dict[str, list[ProbeRow]]] = {}
        seeds: dict[str, int] = {}
        for row in table:
            runs = conditions.setdefault(row["condition"], {})
            runs.setdefault(row["run_id"], []).append(
                ProbeRow(row["step"], row["layer"], row["name"], row["value"])
            )
            seeds[row["run_id"]] = row["seed"]
        return cls(conditions, seeds)

    @property
    def labels(self) -> list[str]:
        return list(self.conditions)

    def representative(self, condition: str) -> tuple[int, list[ProbeRow]]:
        """The seed and rows of the condition's run with the lowest seed."""
        run_id = min(self.conditions[condition], key=lambda r: (self.seeds[r], r))
        return self.seeds[run_id], self.conditions[condition][run_id]

    def runs(self, condition: str) -> list[list[ProbeRow]]:
        return list(self.conditions[condition].values())

    def detail(self) -> list[str]:
        """The conditions a detail figure draws: all, or :data:`MAX_DETAIL` evenly spaced."""
        return evenly_spaced(self.labels, MAX_DETAIL)

    def detail_note(self, shown: Sequence[str]) -> str:
        if len(shown) == len(self.conditions):
            return ""
        return (
            f" Showing {len(shown)} of {len(self.conditions)} conditions, evenly spaced in the report's "
            "order; the overview and the CSV hold all of them."
        )


def evenly_spaced(items: Sequence[Any], limit: int) -> list[Any]:
    """``items`` if there are at most ``limit``, else ``limit`` of them evenly spaced, first and last
    included."""
    if len(items) <= limit:
        return list(items)
    index = np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))
    return [items[i] for i in index]


def weight_tensors(rows: Sequence[ProbeRow]) -> list[str]:
    """Update-order tensors in model order: the ``*.weight`` ones when there are any, else all."""
    names = layers(rows)
    weights = [n for n in names if n.endswith(".weight")]
    return weights or names


def log10(value: float | None) -> float:
    """log10 of a positive value; NaN for 0, None, NaN or a negative value (drawn grey)."""
    if value is None or not value > 0 or not math.isfinite(value):
        return math.nan
    return math.log10(value)


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def geometric_mean(values: Sequence[float]) -> float:
    """The geometric mean of the positive values (NaN if there are none)."""
    logs = _finite([log10(v) for v in values])
    return 10 ** float(np.mean(logs)) if logs else math.nan


def arithmetic_mean(values: Sequence[float]) -> float:
    finite = _finite(values)
    return float(np.mean(finite)) if finite else math.nan


# -- figures ----------------------------------------------------------------------------------------


def _grid(cells: dict[str, list[float]], align: str) -> tuple[np.ndarray, np.ndarray]:
    """The cells as a matrix (NaN: no value) and the mask of cells that exist (a shorter model's row
    is padded on the input side, or the output side when left-aligned)."""
    width = max((len(v) for v in cells.values()), default=0)
    grid = np.full((len(cells), width), np.nan)
    exists = np.zeros((len(cells), width), dtype=bool)
    for i, values in enumerate(cells.values()):
        start = width - len(values) if align == "right" else 0
        grid[i, start : start + len(values)] = values
        exists[i, start : start + len(values)] = True
    return grid, exists


def condition_heatmap(
    ax: Axes,
    cells: dict[str, list[float]],
    *,
    align: str,
    label: str,
    xlabel: str,
    fmt: str = "{:.0f}",
    marks: dict[str, list[bool]] | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    ylabels: bool = True,
    annotate_up_to: int = ANNOTATE_LIMIT[0],
    colorbar: str = "right",
) -> None:
    """One row per condition, one column per layer (right-aligned: the last column is the output of
    every model; left-aligned: the first is the input side); NaN cells grey, cells beyond a shorter
    model's layers white. Cells are annotated with ``fmt`` (and ``*`` where ``marks`` is set) when the
    grid has at most ``annotate_up_to`` columns (and not too many rows to read)."""
    grid, exists = _grid(cells, align)
    finite = grid[np.isfinite(grid)]
    low = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    high = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        aspect="auto",
        interpolation="nearest",
        cmap=matplotlib.colormaps[cmap].with_extremes(bad=GREY),
        vmin=low,
        vmax=high if high > low else low + 1,
    )
    blank = np.zeros((*grid.shape, 4))
    blank[~exists] = 1.0  # opaque white where the model has no such layer
    ax.imshow(blank, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=label, location=colorbar, fraction=0.04, pad=0.01, shrink=0.9)
    rows, cols = grid.shape
    if cols <= annotate_up_to and rows <= ANNOTATE_LIMIT[1]:
        mark_grid = _grid({k: [float(m) for m in v] for k, v in marks.items()}, align)[0] if marks else None
        middle = (low + high) / 2
        for i, j in zip(*np.nonzero(np.isfinite(grid)), strict=True):
            star = "*" if mark_grid is not None and mark_grid[i, j] == 1 else ""
            color = "white" if grid[i, j] < middle else "black"
            text = fmt.format(grid[i, j]) + star
            ax.text(j, i, text, ha="center", va="center", fontsize=6 if rows > 30 else 7, color=color)
    names = [str(cols - 1 - j) if align == "right" else str(j + 1) for j in range(cols)]
    layer_ticks(ax, "x", names)
    ax.set_yticks(range(rows), list(cells) if ylabels else [], fontsize=6 if rows > 30 else 7)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.grid(False)


def _heatmap_figure(count: int, panels: int = 1, widest: int = 1) -> tuple[Figure, list[Axes], int]:
    """A figure for ``panels`` condition heatmaps of ``count`` rows and up to ``widest`` columns, and how
    many panels share a row (several when the grids are narrow)."""
    per_row = 1 if panels == 1 else 2 if widest > 12 else 3
    grid_rows = math.ceil(panels / per_row)
    row_height = 0.2 if count <= 30 else 0.15
    fig = new_figure(11, grid_rows * (1.6 + row_height * count))
    axes = list(fig.subplots(grid_rows, per_row, squeeze=False).ravel())
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels], per_row


def _depth_colors(count: int) -> list[Any]:
    cmap = matplotlib.colormaps["plasma"]
    return [cmap(0.85 * i / max(count - 1, 1)) for i in range(count)]


def _layer_legend(fig: Figure, ax: Axes, names: Sequence[str]) -> None:
    """A legend of the layers, or (for many) a colour bar from the first layer to the last."""
    if len(names) <= 10:
        ax.legend(fontsize=7, title="layer", title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return
    norm = matplotlib.colors.Normalize(1, len(names))
    mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=matplotlib.colormaps["plasma"].resampled(256))
    fig.colorbar(mappable, ax=ax, label=f"layer (1 = {names[0]}, {len(names)} = {names[-1]})", pad=0.01)


#: Inches kept free above and below a manually laid out figure (titles, legend).
MARGINS = (0.45, 0.7)


def _per_condition_panels(
    titles: Sequence[str], columns: int, width: float, height: float, right: float = 0.25
) -> tuple[Figure, list[list[Axes]]]:
    """One row of ``columns`` panels per title (a condition), the title above its row. Laid out by a
    fixed grid rather than a layout engine: figures of many small panels render several times faster."""
    total = height * len(titles) + sum(MARGINS)
    fig = Figure(figsize=(width, total))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(
        len(titles),
        columns,
        left=0.95 / width,
        right=1 - right / width,
        top=1 - MARGINS[0] / total,
        bottom=MARGINS[1] / total,
        hspace=0.85,
        wspace=0.4,
    )
    axes = [[fig.add_subplot(grid[i, j]) for j in range(columns)] for i in range(len(titles))]
    for row, title in zip(axes, titles, strict=True):
        row[0].set_title(title, fontsize=9, loc="left", x=0.0, y=1.08)
    return fig, axes


def _panel_label(ax: Axes, text: str) -> None:
    """A small label in the panel's top right corner (the row's title sits above the first panel)."""
    ax.text(0.98, 0.96, text, transform=ax.transAxes, ha="right", va="top", fontsize=7,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})  # fmt: skip


def _bands_legend(fig: Figure, ax: Axes) -> None:
    """One legend of the quantile bands under the figure, instead of one on each panel."""
    for other in fig.get_axes():
        if other.get_legend() is not None:
            other.get_legend().remove()
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8)


def _seeded(condition: str, seed: int) -> str:
    return f"{condition} (seed {seed})"


def _panel_title(ax: Axes, condition: str, seed: int | None = None) -> None:
    ax.set_title(condition + (f" (seed {seed})" if seed is not None else ""), fontsize=8, loc="left")


# -- update order -----------------------------------------------------------------------------------

EVENTS = ("first_grad_step", "first_change_step", "first_rel_change_step")


def first_events(rows: Sequence[ProbeRow]) -> dict[str, dict[str, int]]:
    """``{tensor: {event: step}}`` from update-order event rows (a tensor that never moved lacks it)."""
    out: dict[str, dict[str, int]] = {name: {} for name in layers(rows)}
    for r in rows:
        if r.name in EVENTS:
            out[r.layer][r.name] = int(r.value)
    return out


@styled
def update_order_overview(runs: ProbeRuns) -> Figure:
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
    fig, (ax,), _ = _heatmap_figure(len(cells))
    condition_heatmap(
        ax,
        cells,
        align="right",
        label="first step the tensor changes",
        xlabel="weight tensor, counted back from the output (0 = the head)",
        marks=marks,
    )
    ax.set_title("first change step per weight tensor")
    return fig


@styled
def update_order_details(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    columns = 2 if len(shown) > 1 else 1
    pairs = [shown[i : i + columns] for i in range(0, len(shown), columns)]
    heights = [
        min(8.0, max(2.2, 0.8 + 0.15 * max(len(layers(runs.representative(c)[1])) for c in pair)))
        for pair in pairs
    ]
    fig = new_figure(10, sum(heights))
    axes = fig.subplots(len(pairs), columns, squeeze=False, height_ratios=heights).ravel()
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    for ax, condition in zip(axes, shown, strict=False):
        seed, rep = runs.representative(condition)
        update_order_chart(ax, rep)
        ax.grid(False)
        _panel_title(ax, condition, seed)
    return fig


def update_order_table(runs: ProbeRuns) -> Table:
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
    table = update_order_table(runs)
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
            FigureBlock.of(
                "probe_update_order_chart",
                update_order_details(runs, shown),
                "Update-order chart of each condition's lowest-seed run: parameter tensors × steps, "
                "coloured by log10 ‖Δ‖ of the step (blank: no change), ○ first non-zero gradient, "
                "● first change." + runs.detail_note(shown),
            ),
            TableBlock(
                "probe_update_order_events",
                table,
                "first gradient, first change and first relative change (above the probe's threshold) of "
                "every parameter tensor, min and max over the condition's runs",
                collapsed=True,
            ),
        ],
    )


# -- gradient distributions -------------------------------------------------------------------------


@styled
def gradient_overview(runs: ProbeRuns) -> Figure:
    cells: dict[str, list[float]] = {}
    for condition in runs.labels:
        norms = [pivot(rows, "norm") for rows in runs.runs(condition)]
        first = {layer: min(by_step) for layer, by_step in norms[0].items()} if norms else {}
        cells[condition] = [
            log10(geometric_mean([n.get(layer, {}).get(step, 0.0) for n in norms]))
            for layer, step in first.items()
        ]
    fig, (ax,), _ = _heatmap_figure(len(cells))
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
    reps = {c: runs.representative(c) for c in shown}
    fig, axes = _per_condition_panels([_seeded(c, reps[c][0]) for c in shown], MAX_LAYER_PANELS, 12, 2.6)
    for row_axes, condition in zip(axes, shown, strict=True):
        rep = reps[condition][1]
        chosen = evenly_spaced(layers(rep), MAX_LAYER_PANELS)
        for ax in row_axes[len(chosen) :]:
            ax.set_visible(False)
        for ax, layer in zip(row_axes, chosen, strict=False):
            quantiles_over_steps(ax, rep, layer)
            _panel_label(ax, layer)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        row_axes[0].set_ylabel("∂L/∂W quantiles")
    _bands_legend(fig, axes[0][0])
    return fig


@PROBE_SECTIONS.register("grad-dist")
def gradient_section(rows: Table) -> Section:
    """Gradient distributions: the norm per layer (overview) and quantiles over the first steps."""
    runs = ProbeRuns.of(rows)
    shown = runs.detail()
    return Section(
        "Gradient distributions (probe grad-dist)",
        [
            FigureBlock.of(
                "probe_grad_dist_overview",
                gradient_overview(runs),
                "log10 of each weight gradient's L2 norm at the first recorded step, geometric mean over "
                "seeds; columns aligned at the output; grey: the gradient is exactly zero in every seed.",
            ),
            FigureBlock.of(
                "probe_grad_dist_quantiles",
                gradient_details(runs, shown),
                "Exact quantiles of the weight gradient over the recorded steps (bands min–max, 1–99%, "
                f"25–75%, the median line; symmetric-log axis) for up to {MAX_LAYER_PANELS} layers of each "
                "condition's lowest-seed run (the first, evenly spaced ones, the last)."
                + runs.detail_note(shown),
            ),
        ],
    )


# -- symmetry and rank ------------------------------------------------------------------------------


def _permanent(values: dict[str, float]) -> str:
    largest = values.get("permanent_largest_group")
    if largest is None:
        return "not analysed"
    return "permanent" if largest > 1 else "no"


def symmetry_table(runs: ProbeRuns) -> Table:
    rows = []
    for condition in runs.labels:
        seed, rep = runs.representative(condition)
        recorded = steps(rep)
        first, last = recorded[0], recorded[-1]
        at = {s: _at(rep, s) for s in (first, last)}
        verdicts = [
            {layer: _permanent(v) for layer, v in _at(r, steps(r)[-1]).items()} for r in runs.runs(condition)
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


def _count(values: dict[str, float], name: str) -> int | None:
    value = values.get(name)
    return None if value is None else int(value)


def _at(rows: Sequence[ProbeRow], step: int) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.step == step:
            table.setdefault(r.layer, {})[r.name] = r.value
    return table


@styled
def rank_overview(runs: ProbeRuns) -> Figure:
    cells = {}
    for condition in runs.labels:
        _, rep = runs.representative(condition)
        last = _at(rep, steps(rep)[-1])
        cells[condition] = [values.get("rank", math.nan) for values in last.values()]
    fig, (ax,), _ = _heatmap_figure(len(cells))
    condition_heatmap(
        ax,
        cells,
        align="right",
        label="numerical rank",
        xlabel="weight layer, counted back from the output (0 = the head)",
        cmap="cividis",
        vmin=0,
    )
    ax.set_title("numerical rank of each weight matrix at the last recorded step")
    return fig


@styled
def rank_growth(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    reps = {c: runs.representative(c) for c in shown}
    fig, axes = _per_condition_panels([_seeded(c, reps[c][0]) for c in shown], 2, 11, 2.8, right=1.0)
    for (rank_ax, eff_ax), condition in zip(axes, shown, strict=True):
        rep = reps[condition][1]
        names = layers([r for r in rep if r.name == "rank"])
        colors = _depth_colors(len(names))
        for ax, name in ((rank_ax, "rank"), (eff_ax, "effective_rank")):
            table = pivot(rep, name)
            for layer, color in zip(names, colors, strict=True):
                xs = sorted(table.get(layer, {}))
                ax.plot(xs, [table[layer][s] for s in xs], color=color, label=layer, linewidth=1.2)
            ax.set_xlabel("step")
            ax.set_ylabel(name.replace("_", " "))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        rank_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _layer_legend(eff_ax.figure, eff_ax, names)
    return fig


@PROBE_SECTIONS.register("symmetry")
def symmetry_section(rows: Table) -> Section:
    """Symmetry: the verdicts table, the rank per layer (overview) and the rank growth."""
    runs = ProbeRuns.of(rows)
    shown = runs.detail()
    table = symmetry_table(runs)
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
            FigureBlock.of(
                "probe_symmetry_rank_growth",
                rank_growth(runs, shown),
                "Numerical (left) and effective (right) rank of every weight matrix over the recorded "
                "steps, one line per layer from the input (light) to the output (dark), lowest-seed run."
                + runs.detail_note(shown),
            ),
        ],
    )


# -- signal propagation -----------------------------------------------------------------------------

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
    shown = [q for q in quantities if q[0] != "mean"]
    widest = max((len(layers) for layers in signal.activations.values()), default=1)
    fig, axes, per_row = _heatmap_figure(len(signal.pivots), len(shown), widest)
    for i, (ax, (name, label, log)) in enumerate(zip(axes, shown, strict=True)):
        cells = {}
        for condition, recorded in signal.steps.items():
            values = signal.at(condition, name, recorded[0], log)
            cells[condition] = [log10(v) for v in values] if log else values
        condition_heatmap(
            ax,
            cells,
            align="left",
            label=f"log10 {label}" if log else label,
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
    columns = 2
    count = math.ceil(len(quantities) / columns)
    fig = new_figure(11, 0.8 + 3.0 * count)
    axes = fig.subplots(count, columns, squeeze=False).ravel()
    for ax in axes[len(quantities) :]:
        ax.set_visible(False)
    colors = palette(list(shown))
    for ax, (name, label, log) in zip(axes, quantities, strict=False):
        for condition in shown:
            recorded = signal.steps[condition]
            for step, style in ((recorded[0], "-"), (recorded[-1], "--")):
                values = signal.at(condition, name, step, log)
                xs = np.arange(1, len(values) + 1)
                ax.plot(xs, values, style, color=colors[condition], marker="." if len(xs) <= 30 else None)
                if len(recorded) == 1:
                    break
        ax.set_xlabel("activation layer from the input")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log and any(np.nanmax(line.get_ydata(), initial=0) > 0 for line in ax.get_lines()):
            ax.set_yscale("log")
    handles = [matplotlib.lines.Line2D([], [], color=colors[c], label=c) for c in shown]
    handles += [
        matplotlib.lines.Line2D([], [], color="0.3", linestyle="-", label="at init (step 0)"),
        matplotlib.lines.Line2D([], [], color="0.3", linestyle="--", label="last recorded step"),
    ]
    fig.legend(handles=handles, loc="outside lower center", fontsize=8)
    return fig


@styled
def signal_distributions(runs: ProbeRuns, shown: Sequence[str]) -> Figure:
    reps = {c: runs.representative(c) for c in shown}
    fig, axes = _per_condition_panels([_seeded(c, reps[c][0]) for c in shown], 2, 11, 2.8)
    for (act_ax, grad_ax), condition in zip(axes, shown, strict=True):
        rep = reps[condition][1]
        acts = set(activation_layers(rep))
        first = min(r.step for r in rep)
        at_init = [r for r in rep if r.layer in acts and r.step == first]
        quantile_bands(act_ax, at_init, ylabel="activation")
        quantile_bands(grad_ax, at_init, prefix="grad_", ylabel="∂L/∂activation")
    _bands_legend(fig, axes[0][0])
    return fig


@PROBE_SECTIONS.register("signal")
def signal_section(rows: Table) -> Section:
    """Signal propagation: per-layer statistics at init (overview), profiles, distributions."""
    runs = ProbeRuns.of(rows)
    signal = SignalRuns.of(runs)
    shown = evenly_spaced(runs.labels, MAX_LINES)
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
            "averaged over seeds as above."
            + (
                ""
                if len(shown) == len(runs.labels)
                else f" Showing {len(shown)} of {len(runs.labels)} conditions, evenly spaced; the overview "
                "holds all of them."
            ),
        ),
    ]
    if "p50" in names:
        detail = runs.detail()
        blocks.append(
            FigureBlock.of(
                "probe_signal_distributions",
                signal_distributions(runs, detail),
                "Distribution of each activation (left) and of the loss's gradient with respect to it "
                "(right) per layer at init: exact quantiles over the batch (bands min–max, 1–99%, 25–75%, "
                "the median line; symmetric-log axis), lowest-seed run (the makemore histograms as "
                "order statistics)." + runs.detail_note(detail),
            )
        )
    return Section("Signal propagation (probe signal)", blocks)
