"""How fast a quantity grows with depth: the log-log least-squares slope with its Student-t interval.

For points (L_i, y_i), i = 1 … n (every seed at every depth), the fit log y = a + s·log L gives

    s = Σ (u_i − ū)(v_i − v̄) / Σ (u_i − ū)²,   u = log L, v = log y,
    se(s) = √( Σ (v_i − a − s·u_i)² / (n − 2) / Σ (u_i − ū)² ),

and the 95% interval s ± t_{0.975, n−2}·se(s). y ∝ L (linear growth) is s = 1, y ∝ log L a slope that
falls towards 0, a constant y is s = 0. Two slopes are compared by s₁ − s₂ ± t_{0.975, ν}·√(se₁² + se₂²)
with ν = min(n₁, n₂) − 2 (conservative). Intervals need n ≥ :data:`~initlab.report.stats.MIN_INTERVAL_N`
points at two depths or more; otherwise the bounds are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from initlab.report import t_quantile
from initlab.report.stats import MIN_INTERVAL_N


@dataclass(frozen=True)
class Slope:
    """A log-log slope with its 95% interval (NaN bounds when too few points) over ``n`` points."""

    slope: float
    low: float
    high: float
    se: float
    n: int


def loglog_slope(depths: Sequence[float], values: Sequence[float]) -> Slope:
    """The slope of log ``values`` against log ``depths`` (positive values only) with its t interval."""
    pairs = [(d, v) for d, v in zip(depths, values, strict=True) if d > 0 and v > 0 and math.isfinite(v)]
    n = len(pairs)
    if n < 2 or len({d for d, _ in pairs}) < 2:
        return Slope(math.nan, math.nan, math.nan, math.nan, n)
    u, v = np.log([d for d, _ in pairs]), np.log([y for _, y in pairs])
    sxx = float(np.sum((u - u.mean()) ** 2))
    slope = float(np.sum((u - u.mean()) * (v - v.mean())) / sxx)
    if n < MIN_INTERVAL_N:
        return Slope(slope, math.nan, math.nan, math.nan, n)
    residual = v - (v.mean() + slope * (u - u.mean()))
    se = math.sqrt(float(np.sum(residual**2)) / (n - 2) / sxx)
    half = t_quantile(0.975, n - 2) * se
    return Slope(slope, slope - half, slope + half, se, n)


def slope_difference(a: Slope, b: Slope) -> tuple[float, float, float]:
    """(a − b, low, high): the difference of two slopes with its 95% interval (NaN bounds without both)."""
    estimate = a.slope - b.slope
    if not (math.isfinite(a.se) and math.isfinite(b.se)):
        return estimate, math.nan, math.nan
    half = t_quantile(0.975, min(a.n, b.n) - 2) * math.hypot(a.se, b.se)
    return estimate, estimate - half, estimate + half
