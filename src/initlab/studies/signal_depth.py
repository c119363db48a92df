"""``signal-depth``: forward and backward signal through deep MLPs, and the depth at which training fails.

A variance-preserving init keeps E[a²] constant through depth: LeCun (Var W = 1/fan_in) for a linear or
tanh-like unit, He (2/fan_in; He et al. 2015, arXiv 1502.01852) for ReLU, which zeroes half its input.
Below that, the signal shrinks geometrically with depth: ReLU with LeCun or Xavier (Glorot & Bengio
2010) halves E[a²] at every layer, and PyTorch's default (U(±1/√fan_in), a third of LeCun's variance)
shrinks it for both activations, where only its biases keep the plain std up while the part of the
activation that depends on the input — the *input signal*, the std of a unit across the batch — is
gone. Through 50 width-256 ReLU layers the input signal of the last hidden layer over the first stays
above 1e-2 for He and falls below 1e-4 for the default, LeCun and Xavier (REFERENCES.md, exact facts).

The study trains MLPs of depth 10–100 with tanh and ReLU from ``pytorch-default``, ``lecun-normal``,
``xavier-normal`` (the papers' gain 1), ``he-normal`` and ``orthogonal`` (Saxe et al. 2014), the last
two with the activation's gain (He: ``nonlinearity``; orthogonal: √2 for ReLU, 5/3 for tanh), on
MNIST with SGD (lr 0.01, momentum 0.9, batch 128). The ``signal`` probe (with quantiles) records every
layer at init. A run *fails* when its final test accuracy is within :data:`FAIL_MARGIN` of the
majority-class accuracy, or it diverged; a (activation, init, depth) fails when most of its seeds do.
The quick preset uses width 128, depths 10, 20 and 50, 3,000 training images for 3 epochs and 2
seeds; the full preset width 256, depths 10, 20, 50 and 100, 10,000 images for 5 epochs and 3 seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from initlab.probes.plots import quantile_bands
from initlab.records import ProbeRow
from initlab.report import (
    Claim,
    FigureBlock,
    Section,
    StoredRun,
    Table,
    TableBlock,
    Text,
    group_conditions,
    palette,
)
from initlab.report.figures import new_figure, styled
from initlab.store import Store
from initlab.studies.base import Analysis, Preset, Study, StudyRuns, register_study
from initlab.studies.verdicts import all_of
from initlab.studies.zero_symmetry import majority_fraction

ACTIVATIONS = ("relu", "tanh")
GAINS = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0}
INITS = ("pytorch-default", "lecun-normal", "xavier-normal", "he-normal", "orthogonal")
#: A run fails when its final test accuracy is below the majority-class accuracy plus this.
FAIL_MARGIN = 0.05
#: The depth of the signal claims (REFERENCES.md: a 50-layer width-256 ReLU MLP).
CLAIM_DEPTH = 50
#: The input signal "survives" above this ratio (last hidden layer over the first) and "vanishes" below
#: VANISHES; the plain std of pytorch-default "stays up" above SURVIVES too.
SURVIVES = 1e-2
VANISHES = 1e-4


@dataclass(frozen=True)
class PresetSettings:
    width: int
    depths: tuple[int, ...]
    train_size: int
    epochs: int
    seeds: int


PRESET_SETTINGS = {
    "quick": PresetSettings(128, (10, 20, 50), 3000, 3, 2),
    "full": PresetSettings(256, (10, 20, 50, 100), 10_000, 5, 3),
}


def schemes(activation: str) -> list[dict[str, Any]]:
    """The five inits, He and orthogonal with ``activation``'s gain."""
    params = {"he-normal": {"nonlinearity": activation}, "orthogonal": {"gain": GAINS[activation]}}
    return [{"init": name, "init_params": params.get(name, {})} for name in INITS]


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    settings = PRESET_SETTINGS[preset]
    return [
        {
            "name": activation,
            "base": {
                "dataset": "mnist",
                "train_size": settings.train_size,
                "val_size": 2000,
                "model": "mlp",
                "model_params": {"width": settings.width, "activation": activation},
                "optimizer": "sgd",
                "lr": 0.01,
                "momentum": 0.9,
                "batch_size": 128,
                "epochs": settings.epochs,
                "probes": {"signal": {"first": 1, "every": 0, "quantiles": True}},
            },
            "axes": {
                "scheme": schemes(activation),
                "model_params.depth": list(settings.depths),
                "seed": f"0..{settings.seeds - 1}",
            },
        }
        for activation in ACTIVATIONS
    ]


# -- what each run shows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSignal:
    """One run's outcome and its signal at init, last hidden layer over the first."""

    run: StoredRun
    activation: str
    init: str
    depth: int
    width: int
    accuracy: float | None
    failed: bool
    input_signal: float
    """input signal (std across samples, averaged over units) of the last hidden layer over the first."""
    std: float
    """plain activation std, last hidden layer over the first."""
    gradient: float
    """std of ∂L/∂a at the first hidden layer over the last: how much of the gradient reaches the input."""

    @property
    def key(self) -> tuple[str, str, int]:
        return self.activation, self.init, self.depth


def ratio(numerator: float | None, denominator: float | None) -> float:
    if numerator is None or denominator is None or denominator == 0:
        return math.nan
    return numerator / denominator


def run_signal(store: Store, run: StoredRun) -> RunSignal:
    config = run.record.config
    depth = config["model_params"]["depth"]
    first, last = "act1", f"act{depth - 1}"
    at_init: dict[tuple[str, str], float] = {
        (r.layer, r.name): r.value
        for _, r in store.probe_rows(run.id, "signal")
        if r.step == 0 and r.layer in (first, last)
    }
    accuracy = run.final("test_accuracy") if run.status == "finished" else None
    failed = run.status == "diverged" or (
        accuracy is not None and accuracy < majority_fraction(config["dataset"]) + FAIL_MARGIN
    )
    return RunSignal(
        run=run,
        activation=config["model_params"]["activation"],
        init=config["init"],
        depth=depth,
        width=config["model_params"]["width"],
        accuracy=accuracy,
        failed=failed,
        input_signal=ratio(at_init.get((last, "input_signal")), at_init.get((first, "input_signal"))),
        std=ratio(at_init.get((last, "std")), at_init.get((first, "std"))),
        gradient=ratio(at_init.get((first, "grad_std")), at_init.get((last, "grad_std"))),
    )


@dataclass(frozen=True)
class Cell:
    """An (activation, init, depth): its runs, averaged."""

    runs: list[RunSignal]

    @property
    def fails(self) -> bool:
        """Most of its runs failed (diverged, or ended near the majority class)."""
        return sum(r.failed for r in self.runs) > len(self.runs) / 2

    def mean(self, field: str) -> float:
        values = [getattr(r, field) for r in self.runs]
        values = [v for v in values if v is not None and math.isfinite(v)]
        return float(np.mean(values)) if values else math.nan


def cells(signals: Sequence[RunSignal]) -> dict[tuple[str, str, int], Cell]:
    out: dict[tuple[str, str, int], list[RunSignal]] = {}
    for s in signals:
        out.setdefault(s.key, []).append(s)
    return {
        k: Cell(v) for k, v in sorted(out.items(), key=lambda kv: (kv[0][0], INITS.index(kv[0][1]), kv[0][2]))
    }


def failure_depth(table: dict[tuple[str, str, int], Cell], activation: str, init: str) -> float:
    """The smallest depth at which (activation, init) fails; ∞ when it trains at every depth tried."""
    failing = [d for (a, i, d), cell in table.items() if (a, i) == (activation, init) and cell.fails]
    return float(min(failing)) if failing else math.inf


def _depth_text(depth: float, deepest: int) -> str:
    return f"> {deepest}" if math.isinf(depth) else str(int(depth))


# -- claims -----------------------------------------------------------------------------------------


def threshold_verdict(values: Sequence[float], above: bool, threshold: float) -> str:
    """*holds* when every seed's value is on the claim's side of ``threshold``, *fails* when their mean
    is on the other side, else (or with no value) *inconclusive*."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "inconclusive"
    side = [(v > threshold) if above else (v < threshold) for v in values]
    if all(side):
        return "holds"
    mean = float(np.mean(values))
    return "fails" if (mean <= threshold if above else mean >= threshold) else "inconclusive"


def signal_claims(table: dict[tuple[str, str, int], Cell]) -> list[Claim]:
    relu = {i: c for (a, i, d), c in table.items() if a == "relu" and d == CLAIM_DEPTH}
    if not relu:
        return []
    width = next(iter(relu.values())).runs[0].width
    where = f"{CLAIM_DEPTH}-layer width-{width} ReLU MLP on an MNIST batch"
    claims = []
    if "he-normal" in relu:
        values = [r.input_signal for r in relu["he-normal"].runs]
        claims.append(
            Claim(
                "he-input-signal-survives",
                f"{where}: with He init the input signal of the last hidden layer over the first stays above "
                f"{SURVIVES:g}",
                threshold_verdict(values, True, SURVIVES),
                {"mean ratio": float(np.mean(values)), "smallest seed": min(values), "seeds": len(values)},
            )
        )
    vanishing = [i for i in ("pytorch-default", "lecun-normal", "xavier-normal") if i in relu]
    verdicts, numbers = [], {}
    for init in vanishing:
        values = [r.input_signal for r in relu[init].runs]
        verdicts.append(threshold_verdict(values, False, VANISHES))
        numbers[f"{init} mean"] = float(np.mean(values))
        numbers[f"{init} largest seed"] = max(values)
    if vanishing:
        claims.append(
            Claim(
                "input-signal-vanishes",
                f"{where}: with {', '.join(vanishing)} the input signal of the last hidden layer over the "
                f"first falls below {VANISHES:g}",
                all_of(verdicts),
                numbers,
            )
        )
    if "pytorch-default" in relu:
        values = [r.std for r in relu["pytorch-default"].runs]
        claims.append(
            Claim(
                "default-std-held-up-by-biases",
                f"{where}: with pytorch-default the plain activation std (last hidden layer over the first) "
                f"stays above {SURVIVES:g}, held up by the biases while the input signal is gone",
                threshold_verdict(values, True, SURVIVES),
                {
                    "mean std ratio": float(np.mean(values)),
                    "smallest seed": min(values),
                    "seeds": len(values),
                },
            )
        )
    return claims


def failure_claims(table: dict[tuple[str, str, int], Cell]) -> list[Claim]:
    """Per activation: inits whose input signal survives to CLAIM_DEPTH fail deeper than those whose
    signal vanishes there."""
    claims = []
    deepest = max((d for _, _, d in table), default=0)
    for activation in ACTIVATIONS:
        at_depth = {i: c for (a, i, d), c in table.items() if a == activation and d == CLAIM_DEPTH}
        survive = [i for i, c in at_depth.items() if c.mean("input_signal") >= SURVIVES]
        vanish = [i for i, c in at_depth.items() if c.mean("input_signal") < VANISHES]
        depths = {i: failure_depth(table, activation, i) for i in (*survive, *vanish)}
        numbers: dict[str, Any] = {
            f"{i} ({'survives' if i in survive else 'vanishes'})": _depth_text(depths[i], deepest)
            for i in (*survive, *vanish)
        }
        if not survive or not vanish:
            verdict = "inconclusive"
        else:
            earliest_survivor = min(depths[i] for i in survive)
            latest_vanisher = max(depths[i] for i in vanish)
            if math.isinf(earliest_survivor) and math.isinf(latest_vanisher):
                verdict = "inconclusive"  # nothing failed within the depths tried
            else:
                verdict = "holds" if earliest_survivor > latest_vanisher else "fails"
        claims.append(
            Claim(
                f"fails-deeper-when-signal-survives/{activation}",
                f"{activation}: inits whose input signal survives {CLAIM_DEPTH} layers (ratio ≥ "
                f"{SURVIVES:g}) start failing to train at a larger depth than inits whose signal vanishes (< "
                f"{VANISHES:g})",
                verdict,
                numbers,
                f"failure depth: the smallest depth tried at which most seeds end within {FAIL_MARGIN:g} of "
                "the majority-class accuracy or diverge",
            )
        )
    return claims


# -- sections ---------------------------------------------------------------------------------------


def outcome_table(table: dict[tuple[str, str, int], Cell]) -> Table:
    deepest = max((d for _, _, d in table), default=0)
    rows = []
    for activation in ACTIVATIONS:
        for init in INITS:
            mine = {d: c for (a, i, d), c in table.items() if (a, i) == (activation, init)}
            if not mine:
                continue
            row: dict[str, Any] = {
                "activation": activation,
                "init": init,
                "fails from depth": _depth_text(failure_depth(table, activation, init), deepest),
            }
            for depth, cell in mine.items():
                row[f"accuracy, depth {depth}"] = cell.mean("accuracy")
            rows.append(row)
    return Table.from_rows(rows)


def signal_table(table: dict[tuple[str, str, int], Cell]) -> Table:
    return Table.from_rows(
        {
            "activation": a,
            "init": i,
            "depth": d,
            "runs": len(c.runs),
            "input signal ratio": c.mean("input_signal"),
            "std ratio": c.mean("std"),
            "gradient ratio (first/last)": c.mean("gradient"),
            "accuracy": c.mean("accuracy"),
            "failed runs": sum(r.failed for r in c.runs),
        }
        for (a, i, d), c in table.items()
    )


@styled
def depth_figure(table: dict[tuple[str, str, int], Cell], majority: float) -> Figure:
    fig = new_figure(11, 8.5)
    axes = fig.subplots(3, 2, squeeze=False)
    colors = palette(list(INITS))
    for column, activation in enumerate(ACTIVATIONS):
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
    for column, activation in enumerate(ACTIVATIONS):
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
    rows = [(a, i) for a in ACTIVATIONS for i in INITS]
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


def analyze(data: StudyRuns) -> Analysis:
    signals = [run_signal(data.store, run) for run in data.runs if run.status in ("finished", "diverged")]
    if not signals:
        return Analysis([], [Section("No finished runs", [Text("No run of the study has ended yet.")])])
    table = cells(signals)
    claims = [*signal_claims(table), *failure_claims(table)]
    majority = majority_fraction(data.runs[0].record.dataset)
    depths = sorted({s.depth for s in signals})
    shown = CLAIM_DEPTH if CLAIM_DEPTH in depths else depths[-1]
    sections = [
        Section(
            "Where training fails",
            [
                Text(
                    f"A run fails when its final test accuracy is below the majority class ({majority:.4f}) "
                    f"plus {FAIL_MARGIN:g}, or when it diverged; a depth fails for an (activation, init) "
                    "when most of its seeds fail."
                ),
                TableBlock(
                    "failure_depth", outcome_table(table), "failure depth and mean final accuracy per depth"
                ),
                FigureBlock.of(
                    "depth_signal",
                    depth_figure(table, majority),
                    "Against depth, mean over seeds: final test accuracy (dashed: the failure threshold), "
                    "the input signal of the last hidden layer over the first at init (grey band: between "
                    f"{VANISHES:g} and {SURVIVES:g}), and the gradient std at the first hidden layer over "
                    "the last. LeCun and Xavier coincide between square layers.",
                ),
                TableBlock(
                    "signal_ratios",
                    signal_table(table),
                    "signal ratios at init (mean over seeds) and outcome per activation, init and depth",
                    collapsed=True,
                ),
            ],
        ),
        Section(
            f"Per-layer signal at depth {shown} (makemore view)",
            [
                FigureBlock.of(
                    "layer_profiles",
                    profile_figure(data.store, signals, shown),
                    "Per hidden layer at init, lowest-seed run of each init: activation std, input signal, "
                    "std of the gradient with respect to the activation, and the dead (ReLU) or saturated "
                    "(tanh, |a| > 0.97) fraction. Between square layers Xavier's variance equals LeCun's, "
                    "and with zero biases a ReLU unit's deadness does not depend on the weights' scale, so "
                    "some lines coincide.",
                ),
                FigureBlock.of(
                    "layer_distributions",
                    distribution_figure(data.store, signals, shown),
                    "Distribution of each hidden activation (left) and of the gradient with respect to it "
                    "(right) over the batch, per layer at init: exact quantiles (bands min–max, 1–99%, "
                    "25–75%, the median line; symmetric-log axis), lowest-seed run — Karpathy's per-layer "
                    "histograms as order statistics.",
                ),
            ],
        ),
    ]
    groups = {}
    for activation in ACTIVATIONS:
        for depth in depths:
            runs = [s.run for s in signals if s.activation == activation and s.depth == depth]
            if runs:
                groups[f"{activation}, depth {depth}"] = group_conditions(runs)
    return Analysis(claims, sections, groups)


STUDY = register_study(
    Study(
        name="signal-depth",
        title="Signal through depth: where deep MLPs stop training",
        question="Through 10–100 layers, which inits keep the forward and backward signal alive, and do "
        "they train deeper than those whose signal vanishes?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
