"""``bias-scale``: zero weights with random normal biases b ~ N(0, s²), at scales s = 0.01 … 100.

The seed study (c-schicho/ZeroInitializationSymmetry) reports that "large initial biases caused
instability during training, whereas small biases did not": with bias factor 100 its MNIST FNN
reached about .86 with a jagged test-accuracy curve, and its MNIST CNN stayed at .10 (chance).
This study sweeps the scale over 0.01, 0.1, 1, 10 and 100 on the seed study's MNIST FNN and MNIST
CNN (Adam 1e-3, batch 128, a validation split off the training set) and measures, per scale:

- the final test accuracy (mean and 95% Student-t interval over seeds) and its across-seed variance;
- the runs that diverged (their loss turned non-finite; they are counted, never averaged);
- the **jaggedness** of each run's per-epoch test-accuracy curve a_0, a_1, …, a_E (a_0 at init):

      J = Σ_{e=1..E} max(0, a_{e−1} − a_e),

  the accuracy lost to setbacks: 0 for a curve that never drops, however fast it rises (a plain
  mean absolute epoch-to-epoch change would count the learning itself). The number of drops is
  reported beside it.

Claims, per model, comparing scale 100 with scale 1 (the seed study's default):

- *lower accuracy*: runs at 100 diverge (and none at 1), or the 95% Welch interval of
  acc(1) − acc(100) lies above 0;
- *more jagged*: the 95% Welch interval of J(100) − J(1) lies above 0;
- *more variable*: the 95% F interval of var(100)/var(1) (across-seed variance of the final
  accuracy) lies above 1;
- *large biases are unstable*: lower accuracy, and more jagged or more variable;

and where scale 100 ends, as the seed study saw it: *stuck at chance* (its CNN, and models it did not
train: every run at scale 100 ends within ``STUCK_SLACK`` of the majority class's share of the test
set), or *still trains* (its FNN: every run ends more than 0.5 above that share).

Full preset: the seed study's settings (FNN 10 epochs, CNN 15, 5 seeds, the 7,000-image validation
split). Quick preset: the FNN on 10,000 training images for 10 epochs with 3 seeds at every scale; the
CNN on 12,000 images for 2 epochs with 2 seeds at scales 1 and 100 only (a CNN run costs about a
minute on one CPU core, most of it evaluating the 10,000 test images; with fewer steps, zero-weight
CNNs at scale 1 may not have left their initial plateau yet).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from initlab.report import (
    Claim,
    Condition,
    FigureBlock,
    Section,
    Table,
    TableBlock,
    Text,
    curve_table,
    final_table,
    mean_ci,
    palette,
    plot_curves,
    plot_metric_vs_param,
    run_table,
)
from initlab.studies.base import Analysis, Preset, Study, StudyRuns, register_study
from initlab.studies.verdicts import (
    above,
    all_of,
    any_of,
    condition_values,
    difference_ci,
    mean_interval,
    variance_ratio_ci,
)
from initlab.studies.zero_symmetry import majority_fraction

SCALES = (0.01, 0.1, 1.0, 10.0, 100.0)
#: The claims compare the largest scale with the seed study's default factor.
REFERENCE_SCALE, LARGE_SCALE = 1.0, 100.0
FULL_SEEDS = 5
#: The seed study's final test accuracy at bias factor 100 (read off its plot).
SEED_STUDY_AT_LARGE = {"mnist-fnn": 0.86, "mnist-cnn": 0.10}
#: "Stuck at chance": no run beats the majority class's share of the test set by more than this.
STUCK_SLACK = 0.02
METRIC = "test_accuracy"
#: The columns that hold the bias scale and the (dataset, model) setting in this study's tables.
SCALE, SETTING = "bias_scale", "setting"


@dataclass(frozen=True)
class Part:
    """One model of the sweep: the seed study's epochs, and the quick preset's cut-down."""

    model: str
    epochs: int
    quick_epochs: int
    quick_train_size: int
    quick_seeds: int
    quick_scales: tuple[float, ...]

    def sweep(self, preset: Preset) -> dict[str, Any]:
        base: dict[str, Any] = {
            "dataset": "mnist",
            "model": self.model,
            "init": "zero-weight-random-bias",
            "init_params": {"dist": "normal"},
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": 128,
        }
        if preset == "quick":
            base |= {"epochs": self.quick_epochs, "train_size": self.quick_train_size, "val_size": 1000}
            scales, seeds = self.quick_scales, self.quick_seeds
        else:
            base |= {"epochs": self.epochs}
            scales, seeds = SCALES, FULL_SEEDS
        return {
            "name": self.model,
            "base": base,
            "axes": {"init_params.scale": list(scales), "seed": f"0..{seeds - 1}"},
        }


PARTS = (
    Part("mnist-fnn", 10, 10, 10_000, 3, SCALES),
    Part("mnist-cnn", 15, 2, 12_000, 2, (REFERENCE_SCALE, LARGE_SCALE)),
)


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    return [part.sweep(preset) for part in PARTS]


def jaggedness(curve: Sequence[float]) -> float:
    """J = Σ max(0, a_{e−1} − a_e): the accuracy lost to epoch-to-epoch drops (0: never drops)."""
    return float(sum(max(0.0, a - b) for a, b in itertools.pairwise(curve)))


def drops(curve: Sequence[float]) -> int:
    """How many epochs end below the epoch before."""
    return sum(b < a for a, b in itertools.pairwise(curve))


def scale_of(condition: Condition) -> float:
    return float(condition.config["init_params"]["scale"])


@dataclass(frozen=True)
class ScaleResult:
    """One (model, scale) condition's final accuracies and curve shapes over its finished runs."""

    condition: Condition
    accuracies: list[float]
    jagged: list[float]
    drops: list[int]

    @classmethod
    def of(cls, condition: Condition) -> ScaleResult:
        curves = [
            [v for _, v in sorted(run.series(METRIC).items())] for run in condition.with_status("finished")
        ]
        return cls(
            condition,
            condition_values(condition, METRIC),
            [jaggedness(c) for c in curves],
            [drops(c) for c in curves],
        )

    @property
    def scale(self) -> float:
        return scale_of(self.condition)

    @property
    def diverged(self) -> int:
        return self.condition.count("diverged")


def _by_setting(data: StudyRuns) -> dict[str, list[Condition]]:
    """Each (dataset, model) setting's conditions (one per scale), by increasing scale, keyed
    ``"dataset model"``."""
    pairs = dict.fromkeys((r.record.dataset, r.record.model) for r in data.runs)
    return {f"{d} {m}": sorted(data.conditions(dataset=d, model=m), key=scale_of) for d, m in pairs}


def setting_claims(setting: str, results: dict[float, ScaleResult]) -> list[Claim]:
    """The claims of one setting (none if scale 1 or scale 100 has no run)."""
    ref, large = results.get(REFERENCE_SCALE), results.get(LARGE_SCALE)
    if ref is None or large is None:
        return []
    at, tag = setting, setting.replace(" ", "/")
    acc = difference_ci(ref.accuracies, large.accuracies)
    lower = "holds" if large.diverged and not ref.diverged else above(acc.low, acc.high, 0.0)
    jag = difference_ci(large.jagged, ref.jagged)
    var = variance_ratio_ci(large.accuracies, ref.accuracies)
    variance = "holds" if var.low == math.inf else above(var.low, var.high, 1.0)
    jagged = above(jag.low, jag.high, 0.0)
    claims = [
        Claim(
            f"lower-accuracy/{tag}",
            f"{at}: at bias scale 100 runs diverge, or the final test accuracy is lower than at scale 1 "
            "(95% Welch CI of acc(1) − acc(100) above 0)",
            lower,
            {
                "acc(1)": mean_interval(ref.accuracies)[0],
                "acc(100)": mean_interval(large.accuracies)[0],
                "difference": acc.estimate,
                "ci low": acc.low,
                "ci high": acc.high,
                "diverged(1)": ref.diverged,
                "diverged(100)": large.diverged,
            },
        ),
        Claim(
            f"more-jagged/{tag}",
            f"{at}: the per-epoch test-accuracy curve is more jagged at scale 100 than at 1 "
            "(jaggedness J = accuracy lost to epoch-to-epoch drops; 95% Welch CI of J(100) − J(1) above 0)",
            jagged,
            {
                "J(1)": mean_interval(ref.jagged)[0],
                "J(100)": mean_interval(large.jagged)[0],
                "difference": jag.estimate,
                "ci low": jag.low,
                "ci high": jag.high,
                "drops(1)": sum(ref.drops),
                "drops(100)": sum(large.drops),
            },
        ),
        Claim(
            f"more-variable/{tag}",
            f"{at}: the final accuracy varies more across seeds at scale 100 than at 1 "
            "(95% F interval of var(100)/var(1) above 1)",
            variance,
            {
                "var(1)": _variance(ref.accuracies),
                "var(100)": _variance(large.accuracies),
                "ratio": var.estimate,
                "ci low": var.low,
                "ci high": var.high,
            },
        ),
    ]
    claims.append(outcome_claim(at, tag, large))
    claims.append(
        Claim(
            f"unstable/{tag}",
            f"{at}: large biases are unstable: at scale 100 lower accuracy (or divergence), and a more "
            "jagged curve or a larger across-seed variance, than at scale 1",
            all_of([lower, any_of([jagged, variance])]),
            {"lower accuracy": lower, "more jagged": jagged, "more variable": variance},
        )
    )
    return claims


def outcome_claim(at: str, tag: str, large: ScaleResult) -> Claim:
    """Where scale 100 ends, as the seed study saw it for this model: at chance (its CNN, and models
    it did not train), or still far above chance (its FNN, about .86)."""
    majority = majority_fraction(large.condition.config["dataset"])
    seed = SEED_STUDY_AT_LARGE.get(large.condition.config["model"])
    finished = len(large.accuracies)
    if seed is not None and seed > majority + STUCK_SLACK:
        worst = min(large.accuracies, default=math.nan)
        return Claim(
            f"still-trains/{tag}",
            f"{at}: at bias scale 100 every run still trains far above chance (accuracy > {majority:.3f} "
            f"+ 0.5), as the seed study's did (about {seed:.2f})",
            ("holds" if worst > majority + 0.5 else "fails") if finished else "inconclusive",
            {"worst accuracy(100)": worst, "majority": majority, "runs": finished},
        )
    best = max(large.accuracies, default=math.nan)
    return Claim(
        f"stuck-at-chance/{tag}",
        f"{at}: at bias scale 100 every run ends at chance (no finished run beats the majority class, "
        f"{majority:.4f}, by more than {STUCK_SLACK * 100:.0f} points)"
        + (f", as the seed study's did ({seed:.2f})" if seed is not None else ""),
        ("holds" if best <= majority + STUCK_SLACK else "fails") if finished else "inconclusive",
        {"best accuracy(100)": best, "majority": majority, "runs": finished},
    )


def _variance(values: Sequence[float]) -> float:
    """The sample variance (ddof 1; NaN for fewer than two values)."""
    return mean_ci(values).var


def _with_columns(table: Table, columns: list[dict[str, Any]]) -> Table:
    """``table``'s rows, each extended by the matching entry of ``columns``."""
    return Table.from_rows([{**extra, **row} for row, extra in zip(table, columns, strict=True)])


def stability_table(results: dict[str, dict[float, ScaleResult]]) -> Table:
    """Per setting and scale: run counts, final accuracy (mean, CI, variance) and jaggedness."""
    rows = []
    for setting, by_scale in results.items():
        for scale, r in by_scale.items():
            mean, low, high = mean_interval(r.accuracies)
            j_mean, j_low, j_high = mean_interval(r.jagged)
            rows.append(
                {
                    SETTING: setting,
                    SCALE: scale,
                    "runs": len(r.condition.runs),
                    "finished": len(r.accuracies),
                    "diverged": r.diverged,
                    "accuracy": mean,
                    "ci low": low,
                    "ci high": high,
                    "variance": _variance(r.accuracies),
                    "jaggedness": j_mean,
                    "J ci low": j_low,
                    "J ci high": j_high,
                    "drops per run": sum(r.drops) / len(r.drops) if r.drops else math.nan,
                }
            )
    return Table.from_rows(rows)


def jaggedness_tables(results: dict[str, dict[float, ScaleResult]]) -> tuple[Table, Table]:
    """Jaggedness in the shape of a final table (per condition) and a run table (per finished run),
    so that the metric-vs-parameter plot draws it as it draws accuracy."""
    finals, runs = [], []
    for setting, by_scale in results.items():
        for scale, r in by_scale.items():
            ci = mean_ci(r.jagged)
            finals.append(
                {
                    SETTING: setting,
                    SCALE: scale,
                    "metric": "jaggedness",
                    "runs": len(r.condition.runs),
                    "mean": ci.mean,
                    "ci_half_width": ci.half_width,
                    "var": ci.var,
                    "diverged": r.diverged,
                }
            )
            runs += [{SETTING: setting, SCALE: scale, "status": "finished", "value": j} for j in r.jagged]
    return Table.from_rows(finals), Table.from_rows(runs)


def single_runs_figure(setting: str, by_scale: dict[float, ScaleResult]) -> FigureBlock | None:
    """Every run's test-accuracy curve at scales 1 and 100: jaggedness shows in single runs, where a
    mean over seeds would smooth it."""
    chosen = [by_scale[s] for s in (REFERENCE_SCALE, LARGE_SCALE) if s in by_scale]
    if not chosen:
        return None
    scale_colors = palette([f"{r.scale:g}" for r in chosen])
    per_run, colors = [], {}
    for r in chosen:
        for run in r.condition.runs:
            label = f"scale {r.scale:g}, seed {run.record.seed}"
            colors[label] = scale_colors[f"{r.scale:g}"]
            per_run.append(Condition(run.id, label, r.condition.config, {}, (run,)))
    return FigureBlock.of(
        "single_runs_" + setting.replace(" ", "_"),
        plot_curves(
            curve_table(per_run, METRIC),
            final=final_table(per_run, METRIC),
            colors=colors,
            title=f"{setting}: test accuracy per epoch of every run at bias scales 1 and 100",
        ),
        "each line is one run (no mean over seeds, so every drop shows); colour: bias scale",
    )


def seed_study_text(results: dict[str, dict[float, ScaleResult]]) -> Text:
    """The measured accuracy at scales 1 and 100 next to the seed study's at factor 100."""
    parts = []
    for setting, by_scale in results.items():
        ref, large = by_scale.get(REFERENCE_SCALE), by_scale.get(LARGE_SCALE)
        if ref is None or large is None:
            continue
        model = large.condition.config["model"]
        seed = SEED_STUDY_AT_LARGE.get(model)
        runs = ", ".join(f"{a:.3f}" for a in large.accuracies) or "none finished"
        parts.append(
            f"{setting}: scale 1 ends at {mean_interval(ref.accuracies)[0]:.3f}, scale 100 at "
            f"{mean_interval(large.accuracies)[0]:.3f} (runs: {runs}; {large.diverged} diverged)"
            + (f", the seed study at factor 100: about {seed:.2f}" if seed is not None else "")
        )
    return Text(
        "The seed study found bias factor 100 unstable: its MNIST FNN reached about .86 with a jagged curve, "
        "its MNIST CNN stayed at .10. Measured here (final test accuracy, mean over seeds): "
        + "; ".join(parts)
        + ". Compare like with like: the quick preset trains on subsets for fewer epochs."
    )


def analyze(data: StudyRuns) -> Analysis:
    by_setting = _by_setting(data)
    results = {
        setting: {scale_of(c): ScaleResult.of(c) for c in conditions}
        for setting, conditions in by_setting.items()
    }
    claims = [claim for setting, by_scale in results.items() for claim in setting_claims(setting, by_scale)]

    conditions = [c for cs in by_setting.values() for c in cs]
    keys = [{SETTING: setting, SCALE: scale_of(c)} for setting, cs in by_setting.items() for c in cs]
    final = _with_columns(final_table(conditions, METRIC), keys)
    runs = _with_columns(
        run_table(conditions, METRIC), [key for key, c in zip(keys, conditions, strict=True) for _ in c.runs]
    )
    jag_final, jag_runs = jaggedness_tables(results)
    stability = [
        Text(
            "Zero weights, biases b ~ N(0, s²). The jaggedness J of a run's per-epoch test-accuracy curve "
            "a_0 … a_E (a_0 at init) is Σ max(0, a_{e−1} − a_e): the accuracy lost to drops, 0 for a curve "
            "that never falls, however fast it rises. Diverged runs (non-finite loss) are counted, never "
            "averaged."
        ),
        FigureBlock.of(
            "accuracy_vs_bias_scale",
            plot_metric_vs_param(final, param=SCALE, runs=runs, series=SETTING),
            "final test accuracy (mean, 95% CI; dots: seeds) and its across-seed variance against the "
            "bias scale; ✕ marks diverged runs",
        ),
        FigureBlock.of(
            "jaggedness_vs_bias_scale",
            plot_metric_vs_param(
                jag_final,
                param=SCALE,
                runs=jag_runs,
                series=SETTING,
                title="jaggedness of the test-accuracy curve and its spread vs. bias_scale",
            ),
            "jaggedness J (mean, 95% CI; dots: seeds) and its across-seed variance against the bias scale",
        ),
        TableBlock("stability", stability_table(results), "final test accuracy and stability per bias scale"),
    ]
    singles = [f for setting, by_scale in results.items() if (f := single_runs_figure(setting, by_scale))]
    sections = [Section("Stability against the bias scale", stability)]
    if singles:
        sections.append(Section("Single runs at bias scales 1 and 100", singles))
    groups = {setting.replace(" ", " / "): cs for setting, cs in by_setting.items()}
    lead = [Section("Against the seed study", [seed_study_text(results)])]
    return Analysis(claims, sections, groups, lead)


STUDY = register_study(
    Study(
        name="bias-scale",
        title="How large may the random biases of zero-weight init be?",
        question="Are large random biases (zero weights, b ~ N(0, s²), s up to 100) unstable: lower "
        "accuracy, jagged curves, more variance across seeds?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
