"""Styles that keep overlapping conditions visible, and the note on identical series."""

from __future__ import annotations

import itertools
import math

from initlab.report.series import LINESTYLES, MARKERS, identical_to, legend_label, palette, series_styles


def test_every_condition_gets_its_own_colour_marker_and_line_style() -> None:
    labels = [f"c{i}" for i in range(20)]
    styles = series_styles(labels)
    assert len({(s.marker, s.linestyle) for s in styles.values()}) == 20  # distinct pairs up to 20
    for a, b in itertools.pairwise(labels):  # neighbours differ in colour, marker and line
        sa, sb = styles[a], styles[b]
        assert sa.color != sb.color and sa.marker != sb.marker and sa.linestyle != sb.linestyle
    assert {s.marker for s in styles.values()} == set(MARKERS)
    assert {s.linestyle for s in styles.values()} == set(LINESTYLES)
    given = {"a": "red", "b": "blue"}
    assert [s.color for s in series_styles(["a", "b"], given).values()] == ["red", "blue"]
    assert series_styles(["a", "b"])["b"].color == palette(["a", "b"])["b"]


def test_a_series_equal_to_an_earlier_one_is_named_after_it() -> None:
    series = {
        "zeros": ([0, 1, 2], [0.1, 0.1, math.nan]),
        "normal": ([0, 1, 2], [0.1, 0.1, math.nan]),  # NaN where zeros has NaN: identical
        "uniform": ([0, 1, 2], [0.1, 0.1, 0.2]),
        "shifted": ([1, 2, 3], [0.1, 0.1, math.nan]),  # the same values at other xs: not identical
        "again": ([0, 1, 2], [0.1, 0.1, 0.2]),
    }
    same = identical_to(series)
    assert same == {"normal": "zeros", "again": "uniform"}
    assert (
        legend_label("normal", same) == "normal (identical to zeros)"
        and legend_label("zeros", same) == "zeros"
    )
