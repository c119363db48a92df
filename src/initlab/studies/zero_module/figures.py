"""The zero-module study's figures: the update-order heatmap, the symmetry and rank of the zeroed
layers and their feeders, the loss and Fréchet curves, and grids of samples."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from initlab.report.figures import new_figure, styled
from initlab.studies.zero_module.facts import Facts, RunFacts


def _first(facts: Facts) -> RunFacts | None:
    return facts.runs[0] if facts.runs else None


@styled
def order_heatmap(conditions: Sequence[Facts], steps: int) -> Figure:
    """Per condition (lowest seed): which weight has had a non-zero gradient by each step."""
    weights = conditions[0].layers.weights
    fig = new_figure(3.2 * len(conditions) + 1.5, 0.14 * len(weights) + 1.6)
    axes = fig.subplots(1, len(conditions), squeeze=False, sharey=True)[0]
    for ax, facts in zip(axes, conditions, strict=True):
        run = _first(facts)
        grid = np.zeros((len(weights), steps))
        for i, name in enumerate(weights):
            first = run.first_grad.get(name) if run else None
            if first is not None:
                grid[i, first:] = 1
        ax.imshow(grid, aspect="auto", cmap="Greens", vmin=0, vmax=1.2, interpolation="nearest")
        ax.set_title(facts.name, fontsize=9)
        ax.set_xlabel("step")
        ax.set_xticks(range(steps))
    axes[0].set_yticks(range(len(weights)))
    axes[0].set_yticklabels([w.removesuffix(".weight") for w in weights], fontsize=5)
    fig.suptitle("weights with a non-zero gradient so far (green), by step", fontsize=10)
    return fig


def _mean_over(run: RunFacts, layers: Sequence[str], quantity: str, ratio: bool) -> dict[int, float]:
    out = {}
    for step, rows in sorted(run.symmetry.items()):
        values = []
        for layer in layers:
            q = rows.get(layer, {})
            if quantity in q and q.get("units", 0) > 1:
                values.append(q[quantity] / q["units"] if ratio else q[quantity])
        if values:
            out[step] = sum(values) / len(values)
    return out


@styled
def symmetry_figure(zeroed: Sequence[Facts], feeding: Sequence[Facts]) -> Figure:
    """Left: the largest group of identical channels (fraction) of the zeroed layers over steps.
    Right: the mean effective rank of each ResBlock's first conv over steps."""
    fig = new_figure(10, 3.6)
    left, right = fig.subplots(1, 2)
    for i, facts in enumerate(zeroed):
        run = _first(facts)
        if run is not None:
            curve = _mean_over(run, facts.layers.zeroed, "largest_group", ratio=True)
            left.plot(
                [s + 1 for s in curve], list(curve.values()), "o-", color=f"C{i}", label=facts.name, ms=3
            )
    left.set_xscale("log")
    left.set_xlabel("step + 1")
    left.set_ylabel("largest group / channels")
    left.set_title("zeroed layers: identical channels", fontsize=10)
    left.legend(fontsize=7)
    for i, facts in enumerate(feeding):
        run = _first(facts)
        if run is not None:
            curve = _mean_over(run, facts.layers.feeding, "effective_rank", ratio=False)
            right.plot(
                [s + 1 for s in curve], list(curve.values()), "o-", color=f"C{i}", label=facts.name, ms=3
            )
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("step + 1")
    right.set_ylabel("mean effective rank")
    right.set_title("each ResBlock's first conv: effective rank", fontsize=10)
    right.legend(fontsize=7)
    return fig


@styled
def curves_figure(conditions: Sequence[Facts]) -> Figure:
    """Evaluation loss and (when recorded) Fréchet distance against steps: each seed thin, the mean thick."""
    panels = [
        (what, label)
        for what, label in (
            ("loss_curve", "evaluation loss (test)"),
            ("frechet_curve", "Fréchet distance (test)"),
        )
        if any(getattr(r, what) for facts in conditions for r in facts.runs)
    ]
    fig = new_figure(5 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (what, label) in zip(axes, panels, strict=True):
        for i, facts in enumerate(conditions):
            curves = [getattr(r, what) for r in facts.runs if getattr(r, what)]
            for curve in curves:
                ax.plot(list(curve), list(curve.values()), color=f"C{i}", alpha=0.3, linewidth=0.8)
            if curves:
                steps = sorted(set.intersection(*(set(c) for c in curves)))
                mean = [sum(c[s] for c in curves) / len(curves) for s in steps]
                ax.plot(steps, mean, color=f"C{i}", linewidth=2, label=f"{facts.name} ({len(curves)} seeds)")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    return fig


#: The grey of the one-pixel gaps between the images of a grid (0: white, 1: black, as drawn).
GAP = 0.3


def grid_image(images: torch.Tensor, columns: int) -> np.ndarray:
    """N × 1 × H × W grey images tiled into one array, ``columns`` wide, one pixel of gap."""
    n, _, h, w = images.shape
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), GAP)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = images[i, 0].numpy()
    return out


@styled
def samples_figure(panels: Sequence[tuple[str, torch.Tensor]]) -> Figure:
    """Each panel a grid of images (title, N × 1 × H × W in [0, 1])."""
    fig = new_figure(3.1 * len(panels), 3.5)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, images) in zip(axes, panels, strict=True):
        columns = math.ceil(math.sqrt(len(images)))
        ax.imshow(grid_image(images, columns), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
