"""The update-order study's figures: small multiples, one panel per (optimizer, activation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.report import Table, palette
from initlab.report.figures import new_figure, styled
from initlab.studies.update_order.facts import RunFacts, lowest_seed, where
from initlab.studies.update_order.grid import ACTIVATIONS, OPTIMIZERS, REFERENCE_DEPTH, SETTINGS

FLOAT32_TINY = 2.0**-149
FLOAT32_NORMAL = 2.0**-126
INIT_STYLE = {True: ("C3", "-", "zero weights, N(0,1) biases"), False: ("0.35", "--", "pytorch-default")}


def _grid_axes(fig: Figure, settings: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    axes = fig.subplots(2, 2, squeeze=False).ravel()
    return dict(zip(settings, axes, strict=True))


@styled
def order_figure(facts: Sequence[RunFacts]) -> Figure:
    fig = new_figure(10, 7.5)
    axes = _grid_axes(fig, SETTINGS)
    reps = lowest_seed(facts)
    depths = sorted({f.depth for f in facts})
    cmap = matplotlib.colormaps["viridis"]
    top = max((s for f in facts for s in f.first_change if s is not None), default=1)
    for (optimizer, activation), ax in axes.items():
        ax.plot([0, max(depths) - 1], [0, max(depths) - 1], "--", color="0.6", label="step = k")
        for i, depth in enumerate(depths):
            color = cmap(i / max(len(depths) - 1, 1))
            shift = 0.07 * (i - (len(depths) - 1) / 2)  # side by side, so lines on the diagonal all show
            ks = [k + shift for k in range(depth - 1, -1, -1)]
            rep = reps.get((optimizer, activation, depth, True))
            if rep is not None:
                seen = [(k, s) for k, s in zip(ks, rep.first_change, strict=True) if s is not None]
                never = [k for k, s in zip(ks, rep.first_change, strict=True) if s is None]
                if seen:
                    xs, ys = zip(*seen, strict=True)
                    ax.plot(xs, ys, "o-", color=color, markersize=3, linewidth=1, label=f"depth {depth}")
                if never:
                    ax.plot(never, [top + 2] * len(never), "x", color=color, markersize=7, mew=2)
            default = reps.get((optimizer, activation, depth, False))
            if default is not None:
                ax.plot(ks, default.first_change, "s", color="0.35", markersize=2.5, zorder=1)
        ax.set_title(f"{optimizer}, {activation}", fontsize=10)
        ax.set_xlabel("k: weight layers back from the head (0 = the head)")
        ax.set_ylabel("first step the layer changes")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[SETTINGS[0]].plot([], [], "s", color="0.35", markersize=3, label="pytorch-default")
    axes[SETTINGS[0]].plot([], [], "x", color="0.35", mew=2, label="never changed")
    axes[SETTINGS[0]].legend(fontsize=7, ncols=2)
    return fig


@styled
def underflow_figure(facts: Sequence[RunFacts]) -> Figure:
    fig = new_figure(10, 3.8)
    axes = dict(zip(ACTIVATIONS, fig.subplots(1, 2, squeeze=False)[0], strict=True))
    deepest = max(f.depth for f in facts)
    colors = {"sgd": "C3", "adam": "C0"}
    for activation, ax in axes.items():
        for optimizer in OPTIMIZERS:
            runs = where(facts, zero=True, optimizer=optimizer, activation=activation, depth=deepest)
            for i, f in enumerate(sorted(runs, key=lambda f: f.seed)):
                ks = list(range(deepest - 1, -1, -1))
                seen = [(k, math.log10(g)) for k, g in zip(ks, f.first_grad_size, strict=True) if g]
                never = [k for k, g in zip(ks, f.first_grad_size, strict=True) if not g]
                label = f"{optimizer} (seed {f.seed})" if i == 0 else None
                if seen:
                    xs, ys = zip(*seen, strict=True)
                    ax.plot(xs, ys, "o-", color=colors[optimizer], alpha=1.0 if i == 0 else 0.35, label=label)
                if never:
                    ax.plot(never, [-46] * len(never), "x", color=colors[optimizer], mew=2)
        ax.axhline(math.log10(FLOAT32_NORMAL), color="0.5", linestyle="--", label="smallest normal float32")
        ax.axhline(math.log10(FLOAT32_TINY), color="0.5", linestyle=":", label="smallest float32 (subnormal)")
        ax.set_title(f"{activation}, depth {deepest}", fontsize=10)
        ax.set_xlabel("k: weight layers back from the head")
        ax.set_ylabel("log10 largest |∂L/∂W| at its first non-zero step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[ACTIVATIONS[0]].legend(fontsize=7)
    return fig


@styled
def dead_figure(table: Table) -> Figure:
    fig = new_figure(5.5, 4.2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], "--", color="0.6", label="equal")
    ax.plot(table.column("negative biases"), table.column("dead at init"), "o", alpha=0.6, label="at init")
    ax.plot(
        table.column("negative biases"),
        table.column("dead at last step"),
        "x",
        alpha=0.6,
        color="C3",
        label="at the last recorded step",
    )
    ax.set_xlabel("fraction of the layer's biases ≤ 0 at init")
    ax.set_ylabel("fraction of dead units (signal probe)")
    ax.set_xlim(0.1, 0.9)
    ax.set_ylim(0.1, 0.9)
    ax.legend(fontsize=8)
    ax.set_title("ReLU, zero weights, N(0,1) biases: every hidden layer of every run", fontsize=9)
    return fig


@styled
def rank_figure(facts: Sequence[RunFacts]) -> Figure:
    fig = new_figure(10, 6.5)
    axes = _grid_axes(fig, SETTINGS)
    reps = lowest_seed(facts)
    for (optimizer, activation), ax in axes.items():
        rep = reps.get((optimizer, activation, REFERENCE_DEPTH, True))
        if rep is None:
            continue
        for layer, color in zip(rep.layers, palette(rep.layers).values(), strict=True):
            by_step = rep.rank.get(layer, {})
            xs = sorted(by_step)
            ax.step(xs, [by_step[s] for s in xs], where="post", color=color, label=layer)
        ax.set_title(f"{optimizer}, {activation} (seed {rep.seed})", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("numerical rank")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[SETTINGS[0]].legend(fontsize=7, title="layer", title_fontsize=7)
    return fig


@styled
def accuracy_figure(facts: Sequence[RunFacts], metric: str = "test_accuracy") -> Figure:
    """Final accuracy against depth, per (optimizer, activation): every seed a dot, the mean a line, zero
    weights against the default (two or three seeds: no interval, the seeds themselves)."""
    fig = new_figure(10, 6)
    axes = _grid_axes(fig, SETTINGS)
    every_depth = sorted({f.depth for f in facts})
    for (optimizer, activation), ax in axes.items():
        ax.set_xticks(every_depth)
        for zero, (color, line, label) in INIT_STYLE.items():
            runs = where(facts, optimizer=optimizer, activation=activation, zero=zero)
            by_depth: dict[int, list[float]] = {}
            for f in runs:
                value = f.run.final(metric)
                if value is not None:
                    by_depth.setdefault(f.depth, []).append(value)
            depths = sorted(by_depth)
            xs = [d + (0.08 if zero else -0.08) for d in depths]
            ax.plot(xs, [np.mean(by_depth[d]) for d in depths], line, color=color, label=label)
            dots = [(x, v) for x, d in zip(xs, depths, strict=True) for v in by_depth[d]]
            if dots:
                ax.plot(*zip(*dots, strict=True), "o", color=color, markersize=3, alpha=0.6)
        ax.set_title(f"{optimizer}, {activation}", fontsize=10)
        ax.set_xlabel("depth (weight layers)")
        ax.set_ylabel("final test accuracy")
        ax.set_ylim(0, 1)
    axes[SETTINGS[0]].legend(fontsize=7)
    return fig


@styled
def curves_figure(facts: Sequence[RunFacts], metric: str = "test_accuracy") -> Figure:
    """Accuracy per epoch, mean over seeds, per (optimizer, activation): one colour per depth, zero
    weights solid, the default dashed."""
    fig = new_figure(10, 6)
    axes = _grid_axes(fig, SETTINGS)
    depths = sorted({f.depth for f in facts})
    cmap = matplotlib.colormaps["viridis"]
    for (optimizer, activation), ax in axes.items():
        for i, depth in enumerate(depths):
            for zero, (_, line, _) in INIT_STYLE.items():
                runs = where(facts, optimizer=optimizer, activation=activation, zero=zero, depth=depth)
                series = [f.run.series(metric) for f in runs if f.run.status == "finished"]
                epochs = sorted(set.intersection(*(set(s) for s in series))) if series else []
                if epochs:
                    mean = [np.mean([s[e] for s in series]) for e in epochs]
                    color = cmap(i / max(len(depths) - 1, 1))
                    ax.plot(
                        epochs, mean, line, color=color, linewidth=1, label=f"depth {depth}" if zero else None
                    )
        ax.set_title(f"{optimizer}, {activation}", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[SETTINGS[0]].plot([], [], "--", color="0.35", label="pytorch-default (dashed)")
    axes[SETTINGS[0]].legend(fontsize=7, ncols=2)
    return fig
