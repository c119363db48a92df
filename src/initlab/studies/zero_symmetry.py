"""``zero-symmetry``: the seed study's main comparison (c-schicho/ZeroInitializationSymmetry).

All-zero weights and biases leave every hidden unit identical forever, so the network can do no
better than predicting one class. Zero weights with *random biases* (``zero-weight-random-bias``)
make the units compute different functions, and the seed study found such networks train to within
about a point of PyTorch's default init (MNIST FNN at epoch 10: default .976, normal biases .971,
uniform biases .972, logistic regression .925; MNIST CNN at epoch 15: .977/.972/.963).

Settings: Adam 1e-3, batch 128, a 7,000-image validation split, 5 seeds (full preset); MNIST FNN
(10 epochs), MNIST CNN (15), Fashion-MNIST FNN (10); the full preset adds CIFAR FNN (15), CIFAR CNN
(20) and ResNet-50 (30, random crop and flip) when CIFAR-10 is available. The quick preset trains on
data subsets for 2–3 epochs with 2–3 seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from matplotlib.figure import Figure

from initlab.data import load_dataset
from initlab.errors import DataError
from initlab.report import Claim, Condition, FigureBlock, Section, Table, TableBlock, Text, group_conditions
from initlab.report.figures import new_figure, styled
from initlab.studies.base import Analysis, Study, StudyRuns, register_study
from initlab.studies.presets import Budgets, Preset, full, preset_sweep, quick
from initlab.studies.verdicts import above, below, condition_values, difference_ci, mean_interval

DEFAULT = {"init": "pytorch-default"}
ZEROS = {"init": "zeros"}
NORMAL = {"init": "zero-weight-random-bias", "init_params": {"dist": "normal", "scale": 1.0}}
UNIFORM = {"init": "zero-weight-random-bias", "init_params": {"dist": "uniform", "scale": 1.0}}
LOGISTIC = {"model": "logistic", "init": "pytorch-default"}
RANDOM_BIAS = {"normal": NORMAL, "uniform": UNIFORM}

#: The seed study's test accuracies (read off its plots, mean of 5 runs), per (dataset, model).
SEED_STUDY: dict[tuple[str, str], dict[str, float]] = {
    ("mnist", "mnist-fnn"): {"default": 0.976, "normal": 0.971, "uniform": 0.972, "logistic": 0.925},
    ("mnist", "mnist-cnn"): {"default": 0.977, "normal": 0.972, "uniform": 0.963, "logistic": 0.925},
    ("cifar10", "cifar-fnn"): {"default": 0.485, "normal": 0.488, "uniform": 0.49, "logistic": 0.372},
    ("cifar10", "cifar-cnn"): {"default": 0.795, "normal": 0.70, "uniform": 0.687},
    ("cifar10", "resnet50-cifar"): {"default": 0.879, "normal": 0.862, "uniform": 0.868},
}

#: Marker colours of a gap's verdict against the margin.
VERDICT_COLORS = {"holds": "#2e7d32", "fails": "#c62828", "inconclusive": "#b8860b"}
#: "Random biases train to within this many accuracy points of the default" (the claim's margin).
MARGIN = 0.02
#: A zero-initialized network is "at the majority class" if no run beats it by more than this.
MAJORITY_SLACK = 0.002


@dataclass(frozen=True)
class Setting:
    """One (dataset, model) comparison: its inits and its budget per preset (the seed study's epochs
    in full)."""

    name: str
    dataset: str
    model: str
    inits: tuple[dict[str, Any], ...]
    budgets: Budgets
    extra: dict[str, Any] = field(default_factory=dict)

    def sweep(self, preset: Preset) -> dict[str, Any]:
        base = {"dataset": self.dataset, "model": self.model, **self.extra}
        return preset_sweep(self.name, self.budgets[preset], base, {"scheme": list(self.inits)})


FNN_INITS = (DEFAULT, ZEROS, NORMAL, UNIFORM, LOGISTIC)
CNN_INITS = (DEFAULT, ZEROS, NORMAL, UNIFORM)
SETTINGS = (
    Setting("mnist-fnn", "mnist", "mnist-fnn", FNN_INITS, {"quick": quick(3, 3, 10_000), "full": full(10)}),
    Setting("mnist-cnn", "mnist", "mnist-cnn", CNN_INITS, {"quick": quick(2, 2, 12_000), "full": full(15)}),
    Setting(
        "fashion-fnn",
        "fashion-mnist",
        "mnist-fnn",
        FNN_INITS,
        {"quick": quick(3, 3, 10_000), "full": full(10)},
    ),
)
#: Added to the full preset when CIFAR-10 is available (ResNet-50 with the seed study's crop, flip
#: and normalization).
CIFAR_SETTINGS = (
    Setting("cifar-fnn", "cifar10", "cifar-fnn", FNN_INITS, {"quick": quick(2, 2, 10_000), "full": full(15)}),
    Setting("cifar-cnn", "cifar10", "cifar-cnn", CNN_INITS, {"quick": quick(2, 2, 10_000), "full": full(20)}),
    Setting(
        "resnet50",
        "cifar10",
        "resnet50-cifar",
        CNN_INITS,
        {"quick": quick(1, 2, 5_000), "full": full(30)},
        {"augment": "crop-flip", "normalize": True},
    ),
)


@cache
def cifar10_available() -> bool:
    """Whether a source of CIFAR-10 is present (the cache folder; no package ships it)."""
    try:
        load_dataset("cifar10", "test")
    except DataError:
        return False
    return True


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    settings = SETTINGS + (CIFAR_SETTINGS if preset == "full" and cifar10_available() else ())
    return [setting.sweep(preset) for setting in settings]


@cache
def majority_fraction(dataset: str) -> float:
    """The largest class's share of ``dataset``'s test set: what predicting one class reaches."""
    counts = load_dataset(dataset, "test").class_counts
    return float(counts.max()) / float(counts.sum())


def _settings(data: StudyRuns) -> dict[tuple[str, str], list[Condition]]:
    """Conditions per (dataset, model); each dataset's logistic runs join all its settings."""
    settings: dict[tuple[str, str], list[Condition]] = {}
    pairs = dict.fromkeys((r.record.dataset, r.record.model) for r in data.runs)
    for dataset, model in pairs:
        if model == "logistic":
            continue
        members = [
            r for r in data.runs if r.record.dataset == dataset and r.record.model in (model, "logistic")
        ]
        settings[dataset, model] = group_conditions(members)
    return settings


def _find(conditions: list[Condition], scheme: dict[str, Any]) -> Condition | None:
    """The condition whose init (and params, and model if given) are ``scheme``'s."""
    for condition in conditions:
        config = condition.config
        if config["init"] != scheme["init"]:
            continue
        if "model" in scheme and config["model"] != scheme["model"]:
            continue
        if "model" not in scheme and config["model"] == "logistic":
            continue
        if all(config["init_params"].get(k) == v for k, v in scheme.get("init_params", {}).items()):
            return condition
    return None


def analyze(data: StudyRuns) -> Analysis:
    claims: list[Claim] = []
    gap_rows: list[dict[str, Any]] = []
    seed_rows: list[dict[str, Any]] = []
    settings = _settings(data)
    for (dataset, model), conditions in settings.items():
        where = f"{dataset} {model}"
        majority = majority_fraction(dataset)
        default, zeros = _find(conditions, DEFAULT), _find(conditions, ZEROS)
        if zeros is not None:
            accs = condition_values(zeros)
            verdict = "inconclusive"
            if accs:
                verdict = "holds" if max(accs) <= majority + MAJORITY_SLACK else "fails"
            claims.append(
                Claim(
                    f"zeros-majority/{dataset}/{model}",
                    f"{where}: all-zero init stays at the majority class ({majority:.4f})",
                    verdict,
                    {
                        "runs": len(accs),
                        "best accuracy": max(accs, default=float("nan")),
                        "majority": majority,
                    },
                )
            )
        for dist, scheme in RANDOM_BIAS.items():
            biased = _find(conditions, scheme)
            if biased is None:
                continue
            accs = condition_values(biased)
            mean, low, high = mean_interval(accs)
            claims.append(
                Claim(
                    f"random-bias-trains/{dataset}/{model}/{dist}",
                    f"{where}: zero weights with {dist} random biases train far above the majority class "
                    f"(accuracy > {majority:.3f} + 0.5)",
                    above(low, high, majority + 0.5),
                    {"mean": mean, "ci low": low, "ci high": high, "runs": len(accs)},
                )
            )
            if default is None:
                continue
            gap = difference_ci(condition_values(default), accs)
            near = below(gap.low, gap.high, MARGIN)
            claims.append(
                Claim(
                    f"near-default/{dataset}/{model}/{dist}",
                    f"{where}: {dist} random biases end within {MARGIN * 100:.0f} points of PyTorch's "
                    "default (95% CI of the gap below the margin)",
                    near,
                    {"gap": gap.estimate, "ci low": gap.low, "ci high": gap.high},
                )
            )
            gap_rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "biases": dist,
                    "default": mean_interval(condition_values(default))[0],
                    "random bias": mean,
                    "gap": gap.estimate,
                    "gap ci low": gap.low,
                    "gap ci high": gap.high,
                    "verdict": near,
                }
            )
        logistic = _find(conditions, LOGISTIC)
        if default is not None and logistic is not None and model != "logistic":
            gap = difference_ci(condition_values(default), condition_values(logistic))
            claims.append(
                Claim(
                    f"beats-logistic/{dataset}/{model}",
                    f"{where}: the default-initialized network beats logistic regression",
                    above(gap.low, gap.high, 0.0),
                    {"gap": gap.estimate, "ci low": gap.low, "ci high": gap.high},
                )
            )
        reference = SEED_STUDY.get((dataset, model), {})
        for label, scheme in (
            ("default", DEFAULT),
            ("normal", NORMAL),
            ("uniform", UNIFORM),
            ("logistic", LOGISTIC),
        ):
            condition = _find(conditions, scheme)
            if condition is None:
                continue
            mean, low, high = mean_interval(condition_values(condition))
            seed_rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "init": label,
                    "epochs": condition.config["epochs"],
                    "initlab": mean,
                    "ci low": low,
                    "ci high": high,
                    "seed study": reference.get(label),
                }
            )
    sections = [
        Section(
            "Against the seed study",
            [
                Text(
                    "initlab's final test accuracy (mean over seeds, 95% CI) next to the seed study's "
                    "(read off its plots; MNIST FNN at epoch 10, MNIST CNN at 15, CIFAR FNN at 15, "
                    "CIFAR CNN at 20, ResNet-50 at 30)."
                    + (
                        " Compare like with like: the quick preset trains on subsets for fewer epochs."
                        if data.preset == "quick"
                        else ""
                    )
                ),
                TableBlock("seed_study", Table.from_rows(seed_rows), "final test accuracy"),
            ],
        ),
    ]
    short = [zeros_text(claims), trains_text(claims), gap_text(claims), logistic_text(claims)]
    lead = [
        Section("In short", [Text(sentence) for sentence in short]),
        Section(
            "Random biases against the default",
            [
                FigureBlock.of(
                    "gap_to_default",
                    gap_figure(gap_rows),
                    "Gap = default − random-bias final test accuracy per setting, in accuracy points, with "
                    f"Welch's 95% interval; dashed: the claim's margin of {MARGIN * 100:.0f} points. The "
                    "final-accuracy charts below span the whole range; this one shows the gap itself.",
                ),
                TableBlock("gap_to_default", Table.from_rows(gap_rows), "test-accuracy gap to the default"),
            ],
        ),
    ]
    groups = {f"{dataset} / {model}": conditions for (dataset, model), conditions in settings.items()}
    return Analysis(claims, sections, groups, lead)


def _named(claims: Sequence[Claim], family: str) -> list[Claim]:
    return [c for c in claims if c.name.startswith(f"{family}/")]


def _where(claim: Claim) -> str:
    """The claim's setting, e.g. ``mnist mnist-fnn with normal biases`` (no comma: settings are listed)."""
    _, dataset, model, *dist = claim.name.split("/")
    return f"{dataset} {model}" + (f" with {dist[0]} biases" if dist else "")


def _verdict_sentence(claims: Sequence[Claim], holds: str, fails: str, subject: str) -> str:
    """``subject`` ``holds`` in k of n settings; which fail, which are undecided (from the verdicts)."""
    if not claims:
        return f"No run measured whether {subject} {holds}."
    by = {v: [_where(c) for c in claims if c.verdict == v] for v in ("holds", "fails", "inconclusive")}
    if len(by["holds"]) == len(claims):
        counts = {1: f"({by['holds'][0]})", 2: "in both settings"}
        where = counts.get(len(claims), f"in all {len(claims)} settings")
        return f"{subject.capitalize()} {holds} {where}."
    parts = [f"{subject.capitalize()} {holds} in {len(by['holds'])} of {len(claims)} settings"]
    if by["fails"]:
        parts.append(f"{fails} in {', '.join(by['fails'])}")
    if by["inconclusive"]:
        parts.append(f"undecided in {', '.join(by['inconclusive'])}")
    return "; ".join(parts) + "."


def zeros_text(claims: Sequence[Claim]) -> str:
    return _verdict_sentence(
        _named(claims, "zeros-majority"), "stays at the majority class", "it beats it", "all-zero init"
    )


def trains_text(claims: Sequence[Claim]) -> str:
    return _verdict_sentence(
        _named(claims, "random-bias-trains"),
        "train far above the majority class",
        "they do not",
        "zero weights with random biases",
    )


def logistic_text(claims: Sequence[Claim]) -> str:
    return _verdict_sentence(
        _named(claims, "beats-logistic"),
        "beats logistic regression",
        "it does not",
        "the default-initialized network",
    )


def gap_text(claims: Sequence[Claim]) -> str:
    return _verdict_sentence(
        _named(claims, "near-default"),
        f"end within {MARGIN * 100:.0f} points of the default",
        "they end further behind",
        "random biases",
    )


@styled
def gap_figure(rows: Sequence[dict[str, Any]]) -> Figure:
    """The gap to the default per setting with its interval, against the claim's margin."""
    fig = new_figure(8, 1.4 + 0.45 * max(len(rows), 1))
    ax = fig.add_subplot()
    for y, row in enumerate(rows):
        gap, low, high = (100 * row[k] for k in ("gap", "gap ci low", "gap ci high"))
        color = VERDICT_COLORS[row["verdict"]]
        if math.isfinite(low) and math.isfinite(high):
            ax.errorbar([gap], [y], xerr=[[gap - low], [high - gap]], fmt="D", color=color, capsize=4)
        else:
            ax.plot([gap], [y], "D", color=color, fillstyle="none")
            ax.annotate(
                "n too small for an interval", (gap, y), xytext=(6, 4), textcoords="offset points", fontsize=7
            )
    ax.axvline(0, color="0.5", linewidth=1)
    ax.axvline(
        100 * MARGIN, color="C3", linestyle="--", linewidth=1, label=f"margin ({MARGIN * 100:.0f} points)"
    )
    ax.set_yticks(range(len(rows)), [f"{r['dataset']} {r['model']}, {r['biases']} biases" for r in rows])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("default − random bias, final test accuracy points (95% Welch interval)")
    ax.legend(fontsize=8, loc="lower right")
    return fig


STUDY = register_study(
    Study(
        name="zero-symmetry",
        title="Zero weights, random biases: the seed study's comparison",
        question="Does zero-weight init with random biases train like PyTorch's default, while all-zero "
        "init stays at the majority class?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
