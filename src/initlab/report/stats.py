"""Confidence intervals over seeds: the mean ± Student-t half-width.

For n independent runs with sample mean x̄ and sample standard deviation s (ddof = 1), the
two-sided level-(1 − α) interval for the mean is

    x̄ ± t_{1−α/2, n−1} · s / √n        (Student, 1908; e.g. Wasserman, *All of Statistics*, §6.3.2)

with t_{p, ν} the p-quantile of Student's t distribution with ν degrees of freedom (scipy's
``stats.t.ppf``; t_{0.975, 4} = 2.776445). With n = 1 the interval is undefined and reported as NaN.

Reports print an interval only from :data:`MIN_INTERVAL_N` runs on, and within the metric's range
(:func:`metric_range`, [0, 1] for an accuracy): with 2 or 3 seeds t_{0.975} is 12.7 or 4.30 and the
interval spans most of what an accuracy can be, which says nothing; they write :data:`TOO_FEW` instead
(figures shade the seeds' range). :class:`Interval` itself stays the plain t interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.errors import ConfigError

#: The fewest runs whose t interval a report prints.
MIN_INTERVAL_N = 4
TOO_FEW = "n too small for an interval"


def t_quantile(p: float, df: float) -> float:
    """The ``p``-quantile of Student's t distribution with ``df`` degrees of freedom (fractional
    ``df`` as in Welch's interval is allowed)."""
    if not 0 < p < 1:
        raise ConfigError(f"quantile p={p!r} is invalid: it must lie in (0, 1)")
    if df < 1:
        raise ConfigError(f"degrees of freedom df={df!r} is invalid: it must be at least 1")
    return float(stats.t.ppf(p, df))


@dataclass(frozen=True)
class Interval:
    """Summary of one sample: its size, mean, spread and the level-``level`` t-interval of the mean."""

    n: int
    mean: float
    std: float
    """Sample standard deviation (ddof = 1); NaN when n < 2."""
    half_width: float
    """t_{1−α/2, n−1} · std / √n; NaN when n < 2."""
    min: float
    max: float
    level: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def var(self) -> float:
        return self.std**2


def mean_ci(values: Iterable[float], level: float = 0.95) -> Interval:
    """The mean of ``values`` with its two-sided Student-t confidence interval at ``level``."""
    if not 0 < level < 1:
        raise ConfigError(f"confidence level={level!r} is invalid: it must lie in (0, 1)")
    x = np.asarray(list(values), dtype=np.float64)
    n = len(x)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, math.nan, math.nan, level)
    if not np.isfinite(x).all():
        raise ConfigError(f"cannot average non-finite values {x.tolist()}; leave diverged runs out first")
    mean = float(x.mean())
    if n < 2:
        return Interval(1, mean, math.nan, math.nan, mean, mean, level)
    std = float(x.std(ddof=1))
    half = t_quantile(0.5 + level / 2, n - 1) * std / math.sqrt(n)
    return Interval(n, mean, std, half, float(x.min()), float(x.max()), level)


def metric_range(metric: str) -> tuple[float, float]:
    """The values ``metric`` can take: [0, 1] for an accuracy, else unbounded."""
    return (0.0, 1.0) if metric.endswith("accuracy") else (-math.inf, math.inf)


def bounded(low: float, high: float, metric: str) -> tuple[float, float]:
    """The interval [low, high] cut to ``metric_range(metric)`` (NaN stays NaN)."""
    floor, ceiling = metric_range(metric)
    return (low if math.isnan(low) else max(low, floor), high if math.isnan(high) else min(high, ceiling))


def interval_text(ci: Interval, metric: str, spec: str = ".4g") -> str:
    """``[low, high]`` of ``ci`` within the metric's range, or :data:`TOO_FEW` below
    :data:`MIN_INTERVAL_N` runs (``n=2: n too small for an interval``)."""
    if ci.n < MIN_INTERVAL_N:
        return f"n={ci.n}: {TOO_FEW}"
    low, high = bounded(ci.low, ci.high, metric)
    return f"[{low:{spec}}, {high:{spec}}]"
