"""Does the accuracy gap track the rank deficit? Spearman's ρ over (setting, seed, epoch) points, with
an interval that respects that the epochs of one seed are one training run.

* Pooled over settings: a cluster bootstrap (Efron & Tibshirani 1993, ch. 6; resampling whole
  clusters, Davison & Hinkley 1997, §3.8): the seeds of each setting are resampled with replacement,
  every epoch of a drawn seed comes along, ρ is recomputed, and the 2.5% and 97.5% percentiles of
  :data:`BOOTSTRAP` draws (a fixed generator) are the interval.
* Within one setting (too few seeds to resample): the Fisher z interval of a Spearman correlation,
  tanh(atanh ρ ± z_{0.975}·√(1.06/(n − 3))) (Fieller, Hartley & Pearson 1957), n ≥ 4 points; it treats
  the points as independent, so it is narrower than it should be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.studies.rank_gap.facts import Point

BOOTSTRAP = 2000
BOOTSTRAP_SEED = 0
#: The fewest points (and, pooled, seeds per setting) an interval is computed from.
MIN_POINTS = 4


@dataclass(frozen=True)
class Correlation:
    """Spearman's ρ with its 95% interval (NaN where it cannot be computed) over ``n`` points."""

    rho: float
    low: float
    high: float
    n: int
    method: str


def spearman(points: Sequence[Point]) -> float:
    """Spearman's ρ of the gap against the deficit (NaN for fewer than 3 points or a constant one)."""
    if len(points) < 3:
        return math.nan
    gaps, deficits = [p.gap for p in points], [p.deficit for p in points]
    if len(set(gaps)) < 2 or len(set(deficits)) < 2:
        return math.nan
    # Pearson's r of the ranks (ties: average ranks), as scipy.stats.spearmanr
    return float(np.corrcoef(stats.rankdata(deficits), stats.rankdata(gaps))[0, 1])


def fisher_interval(points: Sequence[Point]) -> Correlation:
    """ρ with the Fisher z interval (n ≥ :data:`MIN_POINTS`)."""
    rho, n = spearman(points), len(points)
    if n < MIN_POINTS or not math.isfinite(rho):
        return Correlation(rho, math.nan, math.nan, n, "Fisher z")
    z, half = math.atanh(min(max(rho, -0.999999), 0.999999)), 1.959964 * math.sqrt(1.06 / (n - 3))
    return Correlation(rho, math.tanh(z - half), math.tanh(z + half), n, "Fisher z")


def bootstrap_interval(points: Sequence[Point]) -> Correlation:
    """ρ over every point with the seed-cluster bootstrap interval (NaN with fewer than two seeds in a
    setting or fewer than :data:`MIN_POINTS` points)."""
    rho, n = spearman(points), len(points)
    clusters: dict[str, dict[int, list[Point]]] = {}
    for p in points:
        clusters.setdefault(p.setting, {}).setdefault(p.seed, []).append(p)
    if n < MIN_POINTS or not math.isfinite(rho) or any(len(seeds) < 2 for seeds in clusters.values()):
        return Correlation(rho, math.nan, math.nan, n, "seed bootstrap")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = []
    for _ in range(BOOTSTRAP):
        sample = []
        for seeds in clusters.values():
            runs = list(seeds.values())
            for i in rng.integers(0, len(runs), len(runs)):
                sample += runs[i]
        value = spearman(sample)
        if math.isfinite(value):
            draws.append(value)
    if not draws:
        return Correlation(rho, math.nan, math.nan, n, "seed bootstrap")
    low, high = np.percentile(draws, [2.5, 97.5])
    return Correlation(rho, float(low), float(high), n, "seed bootstrap")
