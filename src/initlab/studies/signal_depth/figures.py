"""The signal-depth study's figures: outcome and signal against depth, and the per-layer view at init."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from initlab.probes.plots import quantile_bands
from initlab.records import ProbeRow
from initlab.report import palette
from initlab.report.figures import new_figure, styled
from initlab.store import Store
from initlab.studies.signal_depth import grid
from initlab.studies.signal_depth.facts import Cell, RunSignal
from initlab.studies.signal_depth.grid import FAIL_MARGIN, INITS, SURVIVES, VANISHES


@styled
def depth_figure(table: dict[tuple[str, str, int], Cell], majority: float) -> Figure:
    fig = new_figure(11, 8.5)
    axes = fig.subplots(3, 2, squeeze=False)
    colors = palette(list(INITS))
    for column, activation in enumerate(grid.ACTIVATIONS):
        acc_ax, signal_ax, grad_ax = axes[:, column]
        for init in INITS:
            mine = {d: c for (a, i, d), c in table.items() if (a, i) == (activation, init)}
            if not mine:
                continue
            depths = sorted(mine)
            style = {"color": colors[init], "marker": "o", "label": init}
            acc_ax.plot(depths, [mine[d].mean("accuracy") for d in depths], **style)
            signal_ax.plot(depths, [mine[d].mean("input_signal") for d in depths], **style)
            grad_ax.plot(depths, [mine[d].mean("gradient") for d in depths], **style)
        acc_ax.axhline(majority + FAIL_MARGIN, color="0.5", linestyle="--", label="fails below")
        acc_ax.set_ylabel("final test accuracy")
        acc_ax.set_title(activation, fontsize=10)
        signal_ax.axhspan(VANISHES, SURVIVES, color="0.92", zorder=0)
        signal_ax.set_ylabel("input signal, last / first")
        grad_ax.set_ylabel("std ∂L/∂a, first / last")
        for ax in (acc_ax, signal_ax, grad_ax):
            ax.set_xscale("log")
            ax.set_xticks(
                sorted({d for _, _, d in table}), [str(d) for d in sorted({d for _, _, d in table})]
            )
            ax.minorticks_off()
        for ax in (signal_ax, grad_ax):
            ax.set_yscale("log")
        grad_ax.set_xlabel("depth (weight layers)")
    axes[0][0].legend(fontsize=7)
    return fig


def _profile_runs(signals: Sequence[RunSignal], activation: str, depth: int) -> dict[str, list[RunSignal]]:
    out: dict[str, list[RunSignal]] = {}
    for s in signals:
        if s.activation == activation and s.depth == depth:
            out.setdefault(s.init, []).append(s)
    return out


PROFILE = (
    ("std", "activation std", True),
    ("input_signal", "input signal", True),
    ("grad_std", "std of ∂L/∂a", True),
    (None, "dead (ReLU) / saturated (tanh) fraction", False),
)


@styled
def profile_figure(store: Store, signals: Sequence[RunSignal], depth: int) -> Figure:
    """The makemore view at one depth: per-layer activation and gradient statistics at init, per init."""
    fig = new_figure(11, 9.5)
    axes = fig.subplots(len(PROFILE), 2, squeeze=False)
    colors = palette(list(INITS))
    for column, activation in enumerate(grid.ACTIVATIONS):
        for init, runs in _profile_runs(signals, activation, depth).items():
            rep = min(runs, key=lambda r: r.run.record.seed)
            tables = _at_init(store, rep.run.id)
            for row, (name, label, log) in enumerate(PROFILE):
                quantity = name or ("dead_fraction" if activation == "relu" else "saturated_fraction")
                values = [tables.get((f"act{i}", quantity), math.nan) for i in range(1, depth)]
                ax = axes[row][column]
                ax.plot(range(1, depth), values, color=colors[init], label=init, linewidth=1.3)
                ax.set_ylabel(label, fontsize=8)
                if log:
                    ax.set_yscale("log")
        axes[0][column].set_title(f"{activation}, depth {depth} (lowest seed, at init)", fontsize=10)
        axes[-1][column].set_xlabel("hidden layer")
    axes[0][0].legend(fontsize=7)
    return fig


def _at_init(store: Store, run_id: str) -> dict[tuple[str, str], float]:
    return {(r.layer, r.name): r.value for _, r in store.probe_rows(run_id, "signal") if r.step == 0}


@styled
def distribution_figure(store: Store, signals: Sequence[RunSignal], depth: int) -> Figure:
    """Per init and activation, the activation and gradient quantiles per layer at init."""
    rows = [(a, i) for a in grid.ACTIVATIONS for i in INITS]
    reps = {}
    for activation, init in rows:
        runs = _profile_runs(signals, activation, depth).get(init)
        if runs:
            reps[activation, init] = min(runs, key=lambda r: r.run.record.seed)
    fig = new_figure(11, 2.3 * len(reps))
    bands = np.atleast_1d(fig.subfigures(len(reps), 1))
    for band, ((activation, init), rep) in zip(bands, reps.items(), strict=True):
        band.suptitle(f"{activation}, {init} (seed {rep.run.record.seed})", fontsize=9, x=0.01, ha="left")
        act_ax, grad_ax = band.subplots(1, 2)
        acts = {f"act{i}" for i in range(1, depth)}
        at_init = [
            ProbeRow(0, r.layer, r.name, r.value)
            for _, r in store.probe_rows(rep.run.id, "signal")
            if r.step == 0 and r.layer in acts
        ]
        quantile_bands(act_ax, at_init, ylabel="activation")
        quantile_bands(grad_ax, at_init, prefix="grad_", ylabel="∂L/∂a")
        for ax in (act_ax, grad_ax):
            if ax.get_legend() is not None:
                ax.get_legend().remove()
    handles, labels = fig.get_axes()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    return fig
