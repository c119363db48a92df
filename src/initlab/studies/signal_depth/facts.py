"""What each stored run of the signal-depth study shows: its outcome and its signal at init, last hidden
layer over the first; runs averaged per (activation, init, depth)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from initlab.report import StoredRun
from initlab.store import Store
from initlab.studies.signal_depth.grid import FAIL_MARGIN, INITS
from initlab.studies.zero_symmetry import majority_fraction


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


def depth_text(depth: float, deepest: int) -> str:
    return f"> {deepest}" if math.isinf(depth) else str(int(depth))
