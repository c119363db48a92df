"""The verdict of muP's coordinate check across widths: is each module's output size stable in width?

Given the ``coord-check`` probe's ``abs_mean`` (mean |coordinate| of each module's output, averaged
over seeds) for widths w₁ < w₂ < ... at steps 0, 1, 2 (muP's t = 1, 2, 3), a module is *stable* when,
at every step, the ratio between consecutive widths lies in (1/``tolerance``, ``tolerance``) (1.2
by default: muP's coord check looks for flat curves, Yang et al. 2022, arXiv 2203.03466, §D.1; a
quantity growing as √width gives ratios of √2 ≈ 1.41 per doubling, one growing as width 2). Also
reported: the log-log slope d log(abs_mean)/d log(width) fitted at each step (0: flat, 1: ∝ width),
and whether the module's output is exactly 0 at the first step at every width (muP's zero readout
init makes the logits 0 at t = 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from initlab.errors import ConfigError

#: ``{width: {(step, module): abs_mean}}``.
CoordValues = Mapping[int, Mapping[tuple[int, str], float]]


@dataclass(frozen=True)
class CoordVerdict:
    """One module's verdict: ``stable``; the consecutive-width ratio farthest from 1 (in log), at
    which step and widths; the slope of largest magnitude of log abs_mean against log width over the steps;
    ``zero_at_first_step``; ``readout`` (the module is the model's head)."""

    module: str
    stable: bool
    worst_ratio: float
    worst_step: int
    worst_widths: tuple[int, int]
    slope: float
    zero_at_first_step: bool
    readout: bool


def width_ratio(small: float, large: float) -> float:
    """``large / small``; 1 when both are 0 (nothing grew), ∞ from 0 to something."""
    if small == 0.0:
        return 1.0 if large == 0.0 else math.inf
    return large / small


def log_distance(ratio: float) -> float:
    """|log ratio|: how far a ratio is from 1 (∞ for 0, ∞ or NaN)."""
    return abs(math.log(ratio)) if 0 < ratio < math.inf else math.inf


def log_slope(widths: Sequence[int], values: Sequence[float]) -> float:
    """The least-squares slope of log(value) against log(width) (NaN when a value is not positive)."""
    if any(not v > 0 or not math.isfinite(v) for v in values):
        return math.nan
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])


def coord_verdicts(
    values: CoordValues, *, tolerance: float = 1.2, readout: str | None = None
) -> list[CoordVerdict]:
    """The verdict of every module recorded at every width (in the first width's order)."""
    widths = sorted(values)
    if len(widths) < 2:
        raise ConfigError(f"a coordinate check needs at least two widths, got {widths}")
    if not tolerance > 1:
        raise ConfigError(f"tolerance must be > 1 (a ratio), got {tolerance}")
    keys = [k for k in values[widths[0]] if all(k in values[w] for w in widths)]
    modules = list(dict.fromkeys(module for _, module in keys))
    verdicts = []
    for module in modules:
        steps = sorted(step for step, m in keys if m == module)
        worst, worst_at, slopes = 1.0, (steps[0], widths[0], widths[1]), []
        for step in steps:
            column = [values[w][step, module] for w in widths]
            slopes.append(log_slope(widths, column))
            for i in range(len(widths) - 1):
                a, b, ratio = widths[i], widths[i + 1], width_ratio(column[i], column[i + 1])
                if log_distance(ratio) > log_distance(worst):
                    worst, worst_at = ratio, (step, a, b)
        finite = [s for s in slopes if math.isfinite(s)]
        verdicts.append(
            CoordVerdict(
                module=module,
                stable=1 / tolerance < worst < tolerance,
                worst_ratio=worst,
                worst_step=worst_at[0],
                worst_widths=(worst_at[1], worst_at[2]),
                slope=max(finite, key=abs) if finite else math.nan,
                zero_at_first_step=all(values[w][steps[0], module] == 0.0 for w in widths),
                readout=module == readout,
            )
        )
    return verdicts
