"""Figure layouts the probe sections share: condition × layer heatmaps, one row of panels per
condition, and the legends of layer colours and quantile bands.

Many conditions and many layers stay readable: an overview heatmap has one row per condition and one
column per layer (aligned at the output for update order, gradients and rank, at the input for
signal), its cells annotated while there are few enough to read, and layer axes label every k-th
layer beyond 40 (:func:`initlab.probes.plots.layer_ticks`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from initlab.probes.plots import heatmap, layer_ticks
from initlab.report.figures import new_figure

#: Heatmap cells are annotated with their value up to this many columns and rows.
ANNOTATE_LIMIT = (24, 60)
#: Inches kept free above and below a manually laid out figure (titles, legend).
MARGINS = (0.45, 0.7)


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
    whole: bool = False,
    ylabels: bool = True,
    annotate_up_to: int = ANNOTATE_LIMIT[0],
    colorbar: str = "right",
) -> None:
    """One row per condition, one column per layer (right-aligned: the last column is the output of
    every model; left-aligned: the first is the input side), drawn by :func:`heatmap`: NaN cells grey,
    cells beyond a shorter model's layers white, ``whole`` values (steps, ranks) on a discrete colour
    bar. Cells are annotated with ``fmt`` (and ``*`` where ``marks`` is set) when the grid has at most
    ``annotate_up_to`` columns and :data:`ANNOTATE_LIMIT` rows."""
    grid, exists = _grid(cells, align)
    rows, cols = grid.shape
    readable = cols <= annotate_up_to and rows <= ANNOTATE_LIMIT[1]
    mark_grid = _grid({k: [float(m) for m in v] for k, v in marks.items()}, align)[0] == 1 if marks else None
    heatmap(ax, grid, label=label, cmap=cmap, vmin=vmin, vmax=vmax, whole=whole, blank=~exists,
            annotate=fmt if readable else None, marks=mark_grid, colorbar=colorbar)  # fmt: skip
    names = [str(cols - 1 - j) if align == "right" else str(j + 1) for j in range(cols)]
    layer_ticks(ax, "x", names)
    ax.set_yticks(range(rows), list(cells) if ylabels else [], fontsize=6 if rows > 30 else 7)
    ax.set_xlabel(xlabel, fontsize=8)


def heatmap_figure(count: int, panels: int = 1, widest: int = 1) -> tuple[Figure, list[Axes], int]:
    """A figure for ``panels`` condition heatmaps of ``count`` rows and up to ``widest`` columns, and how
    many panels share a row (up to four when the grids are narrow: the figure stays short)."""
    per_row = 1 if panels == 1 else 2 if widest > 12 else 3 if widest > 8 else min(panels, 4)
    grid_rows = math.ceil(panels / per_row)
    row_height = 0.2 if count <= 30 else 0.15
    fig = new_figure(11, grid_rows * (1.6 + row_height * count))
    axes = list(fig.subplots(grid_rows, per_row, squeeze=False).ravel())
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels], per_row


def depth_colors(count: int) -> list[Any]:
    """``count`` colours from the input (light) to the output (dark)."""
    cmap = matplotlib.colormaps["plasma"]
    return [cmap(0.85 * i / max(count - 1, 1)) for i in range(count)]


def layer_legend(fig: Figure, ax: Axes, names: Sequence[str]) -> None:
    """A legend of the layers, or (for many) a colour bar from the first layer to the last."""
    if len(names) <= 10:
        ax.legend(fontsize=7, title="layer", title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return
    norm = matplotlib.colors.Normalize(1, len(names))
    mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=matplotlib.colormaps["plasma"].resampled(256))
    fig.colorbar(mappable, ax=ax, label=f"layer (1 = {names[0]}, {len(names)} = {names[-1]})", pad=0.01)


def per_condition_panels(
    titles: Sequence[str], columns: int, width: float, height: float, right: float = 0.25
) -> tuple[Figure, list[list[Axes]]]:
    """One row of ``columns`` panels per title (a condition), the title above its row (a figure text,
    so it may span the row). Laid out by a fixed grid rather than a layout engine: figures of many
    small panels render several times faster."""
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
        box = row[0].get_position()
        fig.text(box.x0, box.y1 + 0.08 * box.height, title, fontsize=9, ha="left", va="bottom")
    return fig, axes


def panel_label(ax: Axes, text: str) -> None:
    """A small label in the panel's top right corner (the row's title sits above the first panel)."""
    ax.text(0.98, 0.96, text, transform=ax.transAxes, ha="right", va="top", fontsize=7,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})  # fmt: skip


def bands_legend(fig: Figure, ax: Axes) -> None:
    """One legend of the quantile bands under the figure, instead of one on each panel."""
    for other in fig.get_axes():
        if other.get_legend() is not None:
            other.get_legend().remove()
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8)


def seeded(condition: str, seed: int) -> str:
    """``condition (seed 0)``: the title of a figure of one run."""
    return f"{condition} (seed {seed})"
