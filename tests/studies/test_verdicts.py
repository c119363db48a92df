"""Verdicts from intervals: Welch's difference interval and the threshold rules."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from initlab.studies.verdicts import above, all_of, below, difference_ci, interval_text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0.97, 0.975, 0.971, 0.973, 0.976], [0.96, 0.969, 0.958, 0.971, 0.965]),
        ([0.5, 0.52, 0.61], [0.1135, 0.1135, 0.1136, 0.1134]),
    ],
)
def test_welch_interval_matches_scipy(a: list[float], b: list[float]) -> None:
    ours = difference_ci(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert ours.estimate == pytest.approx(sum(a) / len(a) - sum(b) / len(b))
    assert (ours.low, ours.high) == pytest.approx((ref.low, ref.high), rel=1e-9)


def test_degenerate_samples() -> None:
    assert math.isnan(difference_ci([0.9], [0.8, 0.81]).low)
    same = difference_ci([0.1135, 0.1135], [0.1135, 0.1135])
    assert (same.low, same.high) == (0.0, 0.0)


def test_threshold_rules() -> None:
    assert below(0.001, 0.015, 0.02) == "holds"
    assert below(0.021, 0.03, 0.02) == "fails"
    assert below(-0.01, 0.05, 0.02) == "inconclusive"
    assert below(math.nan, math.nan, 0.02) == "inconclusive"
    assert above(0.7, 0.9, 0.6) == "holds"
    assert above(0.1, 0.5, 0.6) == "fails"
    assert above(0.5, 0.7, 0.6) == "inconclusive"
    assert all_of(["holds", "holds"]) == "holds"
    assert all_of(["holds", "inconclusive"]) == "inconclusive"
    assert all_of(["inconclusive", "fails"]) == "fails"
    assert all_of([]) == "inconclusive"


def test_interval_text_says_when_n_is_too_small_and_stays_within_the_bounds() -> None:
    assert interval_text([0.1, 0.9]) == interval_text([0.2, 0.5, 0.9]) == "n too small for an interval"
    wide = [0.05, 0.95, 0.1, 0.9]
    low, high = (float(v) for v in interval_text(wide).strip("[]").split(", "))
    assert (low, high) == (0.0, 1.0)  # the t-interval of the mean is about [−0.25, 1.25]
    tight = [0.96, 0.97, 0.98, 0.97]
    ref = stats.t.interval(0.95, 3, loc=0.97, scale=stats.sem(tight))
    assert interval_text(tight) == f"[{ref[0]:.3f}, {ref[1]:.3f}]"
