"""Turning stored results into verdicts: final values, differences with confidence intervals, margins.

A verdict is *holds* when the whole confidence interval lies on the claim's side of its threshold,
*fails* when it lies wholly on the other side, and *inconclusive* when it straddles it (or when
too few runs finished to compute it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.report import Condition, StoredRun, Verdict, mean_ci, t_quantile


def final_values(runs: Iterable[StoredRun], metric: str = "test_accuracy") -> list[float]:
    """The final ``metric`` of every finished run."""
    return [v for r in runs if r.status == "finished" and (v := r.final(metric)) is not None]


def condition_values(condition: Condition, metric: str = "test_accuracy") -> list[float]:
    return final_values(condition.runs, metric)


@dataclass(frozen=True)
class Difference:
    """mean(a) − mean(b) with its Welch–Satterthwaite t-interval."""

    estimate: float
    low: float
    high: float
    level: float

    @property
    def defined(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


def difference_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Difference:
    """The difference of means of two independent samples, with Welch's interval:

        (x̄_a − x̄_b) ± t_{1−α/2, ν} · √(s_a²/n_a + s_b²/n_b),
        ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1)).

    NaN bounds when either sample has fewer than two values. When both samples have zero variance
    the interval is the point difference.
    """
    if len(a) < 2 or len(b) < 2:
        est = float(np.mean(a)) - float(np.mean(b)) if len(a) and len(b) else math.nan
        return Difference(est, math.nan, math.nan, level)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    est = float(np.mean(a) - np.mean(b))
    se2 = va + vb
    if se2 == 0:
        return Difference(est, est, est, level)
    df = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_quantile(0.5 + level / 2, df) * math.sqrt(se2)
    return Difference(est, est - half, est + half, level)


def variance_ratio_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Difference:
    """The ratio of sample variances s_a²/s_b² with its F interval (both samples normal, independent):

        [ r / F_{1−α/2}(n_a−1, n_b−1),  r · F_{1−α/2}(n_b−1, n_a−1) ],   r = s_a²/s_b².

    NaN bounds when either sample has fewer than two values; when s_b² = 0 the ratio is infinite
    (its interval [∞, ∞] if s_a² > 0) or undefined (0/0: NaN).
    """
    if len(a) < 2 or len(b) < 2:
        return Difference(math.nan, math.nan, math.nan, level)
    va, vb = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    if vb == 0:
        ratio = math.inf if va > 0 else math.nan
        return Difference(ratio, ratio, ratio, level)
    ratio, p = va / vb, 0.5 + level / 2
    low = ratio / float(stats.f.ppf(p, len(a) - 1, len(b) - 1))
    high = ratio * float(stats.f.ppf(p, len(b) - 1, len(a) - 1))
    return Difference(ratio, low, high, level)


def below(low: float, high: float, threshold: float) -> Verdict:
    """*holds* if the interval [low, high] lies below ``threshold``, *fails* if above, else
    *inconclusive* (also for an undefined interval)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    if high < threshold:
        return "holds"
    if low > threshold:
        return "fails"
    return "inconclusive"


def above(low: float, high: float, threshold: float) -> Verdict:
    """*holds* if [low, high] lies above ``threshold``, *fails* if below, else *inconclusive*."""
    return below(-high, -low, -threshold)


def all_of(verdicts: Iterable[Verdict]) -> Verdict:
    """*fails* if any fails, else *inconclusive* if any is, else *holds* (nothing checked: inconclusive)."""
    verdicts = list(verdicts)
    if not verdicts:
        return "inconclusive"
    if "fails" in verdicts:
        return "fails"
    return "inconclusive" if "inconclusive" in verdicts else "holds"


def any_of(verdicts: Iterable[Verdict]) -> Verdict:
    """*holds* if any holds, else *inconclusive* if any is, else *fails* (nothing checked: inconclusive)."""
    verdicts = list(verdicts)
    if not verdicts:
        return "inconclusive"
    if "holds" in verdicts:
        return "holds"
    return "inconclusive" if "inconclusive" in verdicts else "fails"


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of ``values``: the Student-t interval (NaN bounds for fewer than two)."""
    ci = mean_ci(values, level)
    return ci.mean, ci.low, ci.high


#: With this many values or fewer, a Student-t interval of a mean is too wide to say anything (with two
#: seeds t₀.₉₇₅ = 12.7): tables say so instead of printing it.
TOO_FEW_FOR_INTERVAL = 3


def interval_text(
    values: Sequence[float], level: float = 0.95, bounds: tuple[float, float] = (0.0, 1.0)
) -> str:
    """The mean's Student-t interval as ``[low, high]``, clipped to ``bounds`` (an accuracy's [0, 1]);
    ``n too small for an interval`` for :data:`TOO_FEW_FOR_INTERVAL` values or fewer."""
    if len(values) <= TOO_FEW_FOR_INTERVAL:
        return "n too small for an interval"
    _, low, high = mean_interval(values, level)
    return f"[{max(low, bounds[0]):.3f}, {min(high, bounds[1]):.3f}]"
