"""The Student-t interval of the mean, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from initlab.errors import ConfigError
from initlab.report.stats import bounded, interval_text, mean_ci, t_quantile


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [(0.975, 4, 2.776445), (0.975, 1, 12.706205), (0.975, 2, 4.302653), (0.95, 9, 1.833113), (0.5, 3, 0.0)],
)
def test_t_quantile_matches_the_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)


def test_t_quantile_tends_to_the_normal_quantile() -> None:
    assert t_quantile(0.975, 10**7) == pytest.approx(1.959964, abs=1e-6)


def test_mean_ci_is_the_hand_computed_t_interval() -> None:
    # x = 0.1..0.5: mean 0.3, s² = Σ(x−0.3)²/4 = 0.1/4 = 0.025, half = t_{.975,4}·√(0.025/5)
    ci = mean_ci([0.1, 0.2, 0.3, 0.4, 0.5])
    half = 2.776445 * math.sqrt(0.025 / 5)
    assert (ci.n, ci.min, ci.max) == (5, 0.1, 0.5)
    assert ci.mean == pytest.approx(0.3, abs=1e-15)
    assert ci.std == pytest.approx(math.sqrt(0.025), rel=1e-12)
    assert ci.var == pytest.approx(0.025, rel=1e-12)
    assert ci.half_width == pytest.approx(half, rel=1e-6)
    assert (ci.low, ci.high) == pytest.approx((0.3 - half, 0.3 + half), rel=1e-6)


def test_mean_ci_at_another_level_is_wider_or_narrower_by_the_quantile_ratio() -> None:
    values = [0.91, 0.93, 0.97]
    ratio = mean_ci(values, 0.99).half_width / mean_ci(values, 0.95).half_width
    assert ratio == pytest.approx(t_quantile(0.995, 2) / t_quantile(0.975, 2), rel=1e-12)


def test_identical_values_give_a_zero_width_interval_and_one_value_none() -> None:
    ci = mean_ci([0.25, 0.25, 0.25])
    assert (ci.mean, ci.half_width, ci.std) == (0.25, 0.0, 0.0)
    one = mean_ci([0.7])
    assert one.n == 1 and one.mean == 0.7 and math.isnan(one.half_width) and math.isnan(one.std)
    empty = mean_ci([])
    assert empty.n == 0 and math.isnan(empty.mean)


def test_bad_input_is_refused_with_the_value_named() -> None:
    with pytest.raises(ConfigError, match="non-finite"):
        mean_ci([0.5, math.nan])
    with pytest.raises(ConfigError, match=r"level=1\.5"):
        mean_ci([0.5, 0.6], 1.5)
    with pytest.raises(ConfigError, match="df=0"):
        t_quantile(0.975, 0)


def test_printed_intervals_need_four_runs_and_stay_within_the_metrics_range() -> None:
    two = mean_ci([0.2, 0.9])
    assert two.low < 0 and two.high > 1  # t_{.975,1} = 12.7: the raw interval leaves [0, 1]
    assert interval_text(two, "test_accuracy") == "n=2: n too small for an interval"
    high = mean_ci([0.97, 0.99, 0.999, 0.93])
    assert high.high > 1 and interval_text(high, "test_accuracy") == f"[{high.low:.4g}, 1]"
    assert interval_text(high, "test_loss") == f"[{high.low:.4g}, {high.high:.4g}]"  # a loss is unbounded
    assert bounded(-0.5, math.nan, "val_accuracy")[0] == 0.0 and math.isnan(bounded(-0.5, math.nan, "x")[1])
