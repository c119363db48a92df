"""What each stored run of the rank-gap study shows: its setting and arm, its test accuracy per epoch,
the effective rank of every weight matrix per recorded step, and the first step each one changed.

The effective rank is the symmetry probe's, exp(−Σ p_k log p_k) with p_k = σ_k/Σσ (Roy & Vetterli
2007), of each weight flattened to out × in·k·k. A run's *rank deficit* against a reference run (the
default trained the same way, same seed) is the mean over its weight layers of 1 − r/r_ref, r the
effective rank at the same step: 0 when every layer is as spread as the default's, 1 when every layer
is rank 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab.report import StoredRun
from initlab.store import Store
from initlab.studies.base import StudyRuns
from initlab.studies.rank_gap.grid import REFERENCE, arm_of, setting_of
from initlab.studies.update_order.facts import PerStep, per_step

METRIC = "test_accuracy"


@dataclass(frozen=True)
class RunFacts:
    """One finished run: where it belongs, its accuracy and its ranks."""

    run: StoredRun
    setting: str
    arm: str
    layers: list[str]
    """Its weight layers, input to head."""
    accuracy: dict[int, float]
    """Test accuracy per epoch (0: at init)."""
    epoch_steps: dict[int, int]
    """The step at which each epoch ended."""
    effective_rank: PerStep
    rank: PerStep
    first_change: list[int | None]
    """First step each weight layer changed, input to head (None: never in the run)."""

    @property
    def seed(self) -> int:
        return self.run.record.seed

    def rank_at_epoch(self, layer: str, epoch: int) -> float | None:
        """``layer``'s effective rank at the last record at or before the end of ``epoch``."""
        end = self.epoch_steps.get(epoch)
        steps = [s for s in self.effective_rank.get(layer, {}) if end is not None and s <= end]
        return self.effective_rank[layer][max(steps)] if steps else None


def run_facts(store: Store, run: StoredRun, setting: str, arm: str) -> RunFacts:
    effective = per_step(store, run.id, "symmetry", "effective_rank")
    changes = {
        r.layer: int(r.value) for _, r in store.probe_rows(run.id, "update-order", name="first_change_step")
    }
    layers = list(effective)
    epoch_steps = {
        m.epoch: m.step
        for m in run.metrics
        if (m.split, m.name) == ("test", "accuracy") and m.epoch is not None
    }
    return RunFacts(
        run=run,
        setting=setting,
        arm=arm,
        layers=layers,
        accuracy=run.series(METRIC),
        epoch_steps=epoch_steps,
        effective_rank=effective,
        rank=per_step(store, run.id, "symmetry", "rank"),
        first_change=[changes.get(f"{layer}.weight") for layer in layers],
    )


def study_facts(data: StudyRuns) -> list[RunFacts]:
    """Facts of every finished run of the study whose setting and arm are the preset's."""
    out = []
    for run in data.runs:
        config = run.record.config
        setting, arm = setting_of(config, data.preset), arm_of(config, data.preset)
        if run.status == "finished" and setting is not None and arm is not None:
            out.append(run_facts(data.store, run, setting.name, arm))
    return out


def where(facts: Sequence[RunFacts], **fields: Any) -> list[RunFacts]:
    """The runs whose attributes have every ``field=value`` of ``fields``."""
    return [f for f in facts if all(getattr(f, k) == v for k, v in fields.items())]


def settings_of(facts: Sequence[RunFacts]) -> list[str]:
    return list(dict.fromkeys(f.setting for f in facts))


def reference_of(facts: Sequence[RunFacts], f: RunFacts) -> RunFacts | None:
    """The run ``f`` is measured against: its setting's reference arm (the default), same seed."""
    arm = REFERENCE.get(f.arm, "default")
    same = where(facts, setting=f.setting, arm=arm, seed=f.seed)
    return same[0] if same else None


def layer_ratio(f: RunFacts, ref: RunFacts, layer: str, epoch: int) -> float | None:
    """r/r_ref of ``layer`` at the end of ``epoch`` (None: unrecorded or a rank-0 reference)."""
    r, r_ref = f.rank_at_epoch(layer, epoch), ref.rank_at_epoch(layer, epoch)
    if r is None or r_ref is None or r_ref == 0:
        return None
    return r / r_ref


def rank_deficit(f: RunFacts, ref: RunFacts, epoch: int) -> float | None:
    """Mean over the weight layers of 1 − r/r_ref at the end of ``epoch`` (None: a layer unrecorded)."""
    ratios = [layer_ratio(f, ref, layer, epoch) for layer in f.layers]
    if not ratios or any(r is None for r in ratios):
        return None
    return float(np.mean([1.0 - r for r in ratios]))  # type: ignore[operator]


@dataclass(frozen=True)
class Point:
    """One (setting, arm, seed, epoch): the accuracy gap to the reference and the rank deficit."""

    setting: str
    arm: str
    seed: int
    epoch: int
    gap: float
    deficit: float


def points(facts: Sequence[RunFacts], arms: Sequence[str] = ("zero",)) -> list[Point]:
    """Every (setting, arm, seed, epoch ≥ 1) of ``arms`` with both its gap and its deficit; epoch 0 (at
    init, both at chance and the zero weights at rank 0) is left out."""
    out = []
    for f in facts:
        ref = reference_of(facts, f) if f.arm in arms else None
        if ref is None:
            continue
        for epoch, acc in sorted(f.accuracy.items()):
            deficit = rank_deficit(f, ref, epoch)
            if epoch < 1 or deficit is None or epoch not in ref.accuracy:
                continue
            out.append(Point(f.setting, f.arm, f.seed, epoch, ref.accuracy[epoch] - acc, deficit))
    return out


def final_epoch(facts: Sequence[RunFacts]) -> int:
    """The last epoch every given run reached (0 when none)."""
    return min((max(f.accuracy) for f in facts if f.accuracy), default=0)


def finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]
