"""``signal-depth``: forward and backward signal through deep MLPs, and the depth at which training fails.

A variance-preserving init keeps E[a²] constant through depth: LeCun (Var W = 1/fan_in) for a linear or
tanh-like unit, He (2/fan_in; He et al. 2015, arXiv 1502.01852) for ReLU, which zeroes half its input.
Below that, the signal shrinks geometrically with depth: ReLU with LeCun or Xavier (Glorot & Bengio
2010) halves E[a²] at every layer, and PyTorch's default (U(±1/√fan_in), a third of LeCun's variance)
shrinks it for both activations, where only its biases keep the plain std up while the part of the
activation that depends on the input — the *input signal*, the std of a unit across the batch — is
gone. A factor ½ per layer leaves (½)^{49/2} ≈ 4e-8 of the std after 50 ReLU layers, so the study
checks that through 50 ReLU layers the input signal of the last hidden layer over the first stays above
1e-2 for He and falls below 1e-4 for the default, LeCun and Xavier (He et al. 2015, §2.2).

The study trains MLPs of depth 10–100 with tanh and ReLU from ``pytorch-default``, ``lecun-normal``,
``xavier-normal`` (the papers' gain 1), ``he-normal`` and ``orthogonal`` (Saxe et al. 2014), the last
two with the activation's gain (He: ``nonlinearity``; orthogonal: √2 for ReLU, 5/3 for tanh), on
MNIST with SGD (lr 0.01, momentum 0.9, batch 128). The ``signal`` probe (with quantiles) records every
layer at init. A run *fails* when its final test accuracy is within :data:`FAIL_MARGIN` of the
majority-class accuracy, or it diverged; a (activation, init, depth) fails when most of its seeds do.
The quick preset uses width 128, depths 10, 20 and 50, 3,000 training images for 3 epochs and 2
seeds; the full preset width 256, depths 10, 20, 50 and 100, 10,000 images for 5 epochs and 3 seeds.

The package: :mod:`.grid` (the sweeps), :mod:`.facts` (what each run shows), :mod:`.claims`,
:mod:`.tables`, :mod:`.figures` and :mod:`.text` (the sentences chosen from the claims).
"""

from __future__ import annotations

from initlab.report import FigureBlock, Section, TableBlock, Text, group_conditions
from initlab.studies.base import Analysis, Study, StudyRuns, register_study
from initlab.studies.signal_depth import figures, grid, tables
from initlab.studies.signal_depth.claims import failure_claims, signal_claims
from initlab.studies.signal_depth.facts import cells, run_signal
from initlab.studies.signal_depth.grid import (
    FAIL_MARGIN,
    SURVIVES,
    VANISHES,
    sweeps,
)
from initlab.studies.signal_depth.text import failure_text
from initlab.studies.zero_symmetry import majority_fraction


def analyze(data: StudyRuns) -> Analysis:
    signals = [run_signal(data.store, run) for run in data.runs if run.status in ("finished", "diverged")]
    if not signals:
        return Analysis([], [Section("No finished runs", [Text("No run of the study has ended yet.")])])
    table = cells(signals)
    claims = [*signal_claims(table), *failure_claims(table)]
    majority = majority_fraction(data.runs[0].record.dataset)
    depths = sorted({s.depth for s in signals})
    shown = grid.CLAIM_DEPTH if grid.CLAIM_DEPTH in depths else depths[-1]
    sections = [
        Section(
            "Where training fails",
            [
                Text(
                    f"A run fails when its final test accuracy is below the majority class ({majority:.4f}) "
                    f"plus {FAIL_MARGIN:g}, or when it diverged; a depth fails for an (activation, init) "
                    "when most of its seeds fail. " + failure_text(claims)
                ),
                TableBlock(
                    "failure_depth",
                    tables.outcome_table(table),
                    "failure depth and mean final accuracy per depth",
                ),
                FigureBlock.of(
                    "depth_signal",
                    figures.depth_figure(table, majority),
                    "Against depth, mean over seeds: final test accuracy (dashed: the failure threshold), "
                    "the input signal of the last hidden layer over the first at init (grey band: between "
                    f"{VANISHES:g} and {SURVIVES:g}), and the gradient std at the first hidden layer over "
                    "the last. LeCun and Xavier coincide between square layers.",
                ),
                TableBlock(
                    "signal_ratios",
                    tables.signal_table(table),
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
                    figures.profile_figure(data.store, signals, shown),
                    "Per hidden layer at init, lowest-seed run of each init: activation std, input signal, "
                    "std of the gradient with respect to the activation, and the dead (ReLU) or saturated "
                    "(tanh, |a| > 0.97) fraction. Between square layers Xavier's variance equals LeCun's, "
                    "and with zero biases a ReLU unit's deadness does not depend on the weights' scale, so "
                    "some lines coincide.",
                ),
                FigureBlock.of(
                    "layer_distributions",
                    figures.distribution_figure(data.store, signals, shown),
                    "Distribution of each hidden activation (left) and of the gradient with respect to it "
                    "(right) over the batch, per layer at init: exact quantiles (bands min–max, 1–99%, "
                    "25–75%, the median line; symmetric-log axis), lowest-seed run — Karpathy's per-layer "
                    "histograms as order statistics.",
                ),
            ],
        ),
    ]
    groups = {}
    for activation in grid.ACTIVATIONS:
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
