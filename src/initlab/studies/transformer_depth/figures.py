"""The transformer-depth study's figures: bpc curves per depth, final bpc against depth (where each
variant fails), the output change at init against depth, the gradient profile at init, and the spread
of nn.TransformerEncoder's copies over training."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from initlab.report import palette
from initlab.report.figures import new_figure, styled
from initlab.studies.transformer_depth.facts import RunFacts, depths_of, training, where
from initlab.studies.transformer_depth.grid import SCHEMES, VARIANTS
from initlab.studies.transformer_depth.init_claims import amplification, spreads
from initlab.studies.transformer_depth.outcome import TRAINED_BPC

COLORS = palette([*VARIANTS, "post-ln warm-up"])


def arm(f: RunFacts) -> str:
    """The run's variant, with ``warm-up`` when it warmed up."""
    return f"{f.variant} warm-up" if f.warmup else f.variant


def _mean_curve(ax: Axes, runs: Sequence[RunFacts], label: str) -> None:
    steps = sorted({s for f in runs for s in f.bpc})
    mean = [float(np.mean(v)) if (v := [f.bpc[s] for f in runs if s in f.bpc]) else math.nan for s in steps]
    line = "--" if "warm-up" in label else "-"
    ax.plot(steps, mean, line, color=COLORS[label], linewidth=1.2, label=label)


@styled
def bpc_curves_figure(facts: Sequence[RunFacts]) -> Figure:
    """Validation bpc over the steps, mean over seeds: one panel per depth (post-LN with and without
    warm-up, pre-LN), one for the schemes at the deepest depth."""
    runs = training(facts)
    depths = depths_of(training(facts, variant="pre-ln"))
    panels = len(depths) + 1
    fig = new_figure(3.4 * panels, 3.2)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, depth in zip(axes, depths, strict=False):
        for label in ("post-ln", "post-ln warm-up", "pre-ln"):
            mine = [f for f in where(runs, depth=depth) if arm(f) == label]
            if mine:
                _mean_curve(ax, mine, label)
        ax.set_title(f"depth {depth}", fontsize=9)
    deepest = max(depths, default=0)
    for label in (*SCHEMES, "normformer", "gpt2", "normal-0.02", "pre-ln"):
        mine = [f for f in where(runs, depth=deepest, variant=label) if f.warmup == 0]
        if mine:
            _mean_curve(axes[-1], mine, label)
    axes[-1].set_title(f"schemes at depth {deepest}", fontsize=9)
    for ax in axes:
        ax.axhline(TRAINED_BPC, color="0.6", linewidth=0.7, linestyle=":")
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("val bpc", fontsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    return fig


@styled
def failure_figure(facts: Sequence[RunFacts]) -> Figure:
    """Final val bpc against depth per arm, one dot per seed (a diverged seed drawn at the top as ×)."""
    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    runs = training(facts)
    finite = [f.final_bpc for f in runs if math.isfinite(f.final_bpc)]
    top = max(finite, default=TRAINED_BPC) + 0.3
    labels = list(dict.fromkeys(arm(f) for f in runs if not f.variant.startswith("torch")))
    for label in labels:
        mine = [f for f in runs if arm(f) == label]
        depths = sorted({f.depth for f in mine})
        means = [float(np.mean([min(f.final_bpc, top) for f in mine if f.depth == d])) for d in depths]
        ax.plot(
            depths, means, "-o" if len(depths) > 1 else "o", color=COLORS[label], label=label, markersize=4
        )
        diverged = [f.depth for f in mine if f.diverged]
        ax.plot(diverged, [top] * len(diverged), "x", color=COLORS[label])
    ax.axhline(TRAINED_BPC, color="0.6", linewidth=0.8, linestyle=":", label="trained bound")
    ax.set_xlabel("depth (layers)")
    ax.set_ylabel("final val bpc (mean over seeds)")
    ax.set_title("Where each variant fails: final bpc against depth", fontsize=10)
    ax.legend(fontsize=6, ncol=2)
    return fig


@styled
def amplification_figure(facts: Sequence[RunFacts]) -> Figure:
    """Output change at init (relative, E‖ΔF‖²/E‖F‖² for a 10⁻³ relative perturbation) against depth,
    log-log: a dot per seed and the fitted power law per variant."""
    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    amplified = where(facts, part="amplification")
    for variant in dict.fromkeys(f.variant for f in amplified):
        mine = [f for f in where(amplified, variant=variant) if f.output_change]
        if not mine:
            continue
        ax.plot(
            [f.depth for f in mine],
            [f.output_change for f in mine],
            "o",
            color=COLORS[variant],
            alpha=0.6,
            markersize=4,
        )
        fit = amplification(facts, variant)
        depths = np.array(sorted({f.depth for f in mine}), dtype=float)
        if math.isfinite(fit.slope):
            logs = np.log([f.output_change for f in mine])  # type: ignore[arg-type]
            intercept = float(np.mean(logs) - fit.slope * np.mean(np.log([f.depth for f in mine])))
            ax.plot(
                depths,
                np.exp(intercept) * depths**fit.slope,
                "-",
                color=COLORS[variant],
                label=f"{variant}: slope {fit.slope:.2f}",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("depth (layers)")
    ax.set_ylabel("relative output change at init")
    ax.set_title("Output change at init against depth (Admin's amplification)", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return fig


@styled
def grad_profile_figure(facts: Sequence[RunFacts]) -> Figure:
    """‖∂L/∂θ_l‖ at init against the layer l, at the deepest measured depth, mean over seeds."""
    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    amplified = where(facts, part="amplification")
    deepest = max(depths_of(amplified), default=0)
    for variant in dict.fromkeys(f.variant for f in amplified):
        mine = [f for f in where(amplified, variant=variant, depth=deepest) if f.layer_grad]
        if not mine:
            continue
        layers = sorted(mine[0].layer_grad)
        mean = [float(np.mean([f.layer_grad.get(layer, math.nan) for f in mine])) for layer in layers]
        ax.plot(layers, mean, "-o", color=COLORS[variant], label=variant, markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("gradient norm of the layer at init")
    ax.set_title(f"Gradient profile at init, depth {deepest}", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return fig


@styled
def clones_figure(facts: Sequence[RunFacts]) -> Figure:
    """The layers' relative norm spread over the steps: nn.TransformerEncoder's copies against
    re-initialised layers, one line per seed."""
    fig = new_figure(6.5, 3.6)
    ax = fig.subplots()
    for variant in ("torch-clones", "torch-reset"):
        for i, f in enumerate(training(facts, variant=variant)):
            curve = spreads(f)
            line = "-o" if variant == "torch-clones" else "--s"
            ax.plot(
                list(curve),
                list(curve.values()),
                line,
                color=COLORS[variant],
                markersize=3,
                label=variant if i == 0 else None,
            )
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlabel("step")
    ax.set_ylabel("largest relative norm spread across layers")
    ax.set_title("Do nn.TransformerEncoder's copies separate?", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return fig
