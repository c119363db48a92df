"""What the store says about each (model, scale) condition of the bias-scale study: the final test
accuracies, and the shape of every run's per-epoch test-accuracy curve a_0, a_1, …, a_E (a_0 at init).

The **jaggedness** of a curve is

    J = Σ_{e=1..E} max(0, a_{e−1} − a_e),

the accuracy lost to setbacks: 0 for a curve that never drops, however fast it rises (a plain mean
absolute epoch-to-epoch change would count the learning itself). J ≥ 0; the number of drops is kept
beside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from initlab.report import Condition, StoredRun, mean_ci
from initlab.studies.base import StudyRuns
from initlab.studies.verdicts import condition_values

METRIC = "test_accuracy"


def jaggedness(curve: Sequence[float]) -> float:
    """J = Σ max(0, a_{e−1} − a_e): the accuracy lost to epoch-to-epoch drops (0: never drops)."""
    return float(sum(max(0.0, a - b) for a, b in itertools.pairwise(curve)))


def drops(curve: Sequence[float]) -> int:
    """How many epochs end below the epoch before."""
    return sum(b < a for a, b in itertools.pairwise(curve))


def curve(run: StoredRun) -> list[float]:
    """The run's test accuracy per epoch, from epoch 0 (init)."""
    return [v for _, v in sorted(run.series(METRIC).items())]


def scale_of(condition: Condition) -> float:
    return float(condition.config["init_params"]["scale"])


def variance(values: Sequence[float]) -> float:
    """The sample variance (ddof 1; NaN for fewer than two values)."""
    return mean_ci(values).var


@dataclass(frozen=True)
class ScaleResult:
    """One (model, scale) condition's final accuracies and curve shapes over its finished runs."""

    condition: Condition
    accuracies: list[float]
    jagged: list[float]
    drops: list[int]

    @classmethod
    def of(cls, condition: Condition) -> ScaleResult:
        curves = [curve(run) for run in condition.with_status("finished")]
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


#: Per setting (``"dataset model"``), its results by scale, in increasing scale.
Results = dict[str, dict[float, ScaleResult]]


def by_setting(data: StudyRuns) -> dict[str, list[Condition]]:
    """Each (dataset, model) setting's conditions (one per scale), by increasing scale, keyed
    ``"dataset model"``."""
    pairs = dict.fromkeys((r.record.dataset, r.record.model) for r in data.runs)
    return {f"{d} {m}": sorted(data.conditions(dataset=d, model=m), key=scale_of) for d, m in pairs}


def results_of(settings: dict[str, list[Condition]]) -> Results:
    return {
        setting: {scale_of(c): ScaleResult.of(c) for c in conditions}
        for setting, conditions in settings.items()
    }
