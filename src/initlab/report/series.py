"""Line and marker styles that keep overlapping conditions visible.

Two conditions can draw the same curve (zero weights with N(0, 1) or U[0, 1) biases both stuck at the
majority class; rezero and skipinit, whose branches start at zero the same way), and a line drawn
last hides the one under it. Every condition therefore gets its own colour, marker and line style
(:func:`series_styles`), and a series equal to an earlier one is named in the legend as
``identical to <label>`` (:func:`identical_to`, :func:`legend_label`), so the reader knows where the
hidden one is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np


def palette(labels: Sequence[str]) -> dict[str, Any]:
    """One colour per label, in order (tab10, then tab20 beyond ten labels), so that a condition has
    one colour in every figure of a report."""
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


#: Markers and line styles, paired by position: the first 20 conditions get distinct pairs.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class SeriesStyle:
    """How one condition's series is drawn."""

    color: Any
    marker: str
    linestyle: str

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Axes.plot``."""
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle}


def series_styles(labels: Sequence[str], colors: Mapping[str, Any] | None = None) -> dict[str, SeriesStyle]:
    """``{label: style}``: the colour from ``colors`` (default :func:`palette`), a marker and a line
    style chosen by position so that neighbours differ in all three."""
    colors = colors or palette(list(labels))
    return {
        label: SeriesStyle(colors[label], MARKERS[i % len(MARKERS)], LINESTYLES[i % len(LINESTYLES)])
        for i, label in enumerate(labels)
    }


Series = tuple[Sequence[float], Sequence[float]]
"""``(xs, ys)`` of one line."""


def identical_to(series: Mapping[str, Series]) -> dict[str, str]:
    """``{label: earlier label}`` for every series whose points equal those of an earlier series
    (the same xs and ys, NaN equal to NaN); a series that is unique is left out."""
    seen: list[tuple[str, np.ndarray, np.ndarray]] = []
    out: dict[str, str] = {}
    for label, (xs, ys) in series.items():
        x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        for other, ox, oy in seen:
            if np.array_equal(x, ox, equal_nan=True) and np.array_equal(y, oy, equal_nan=True):
                out[label] = other
                break
        else:
            seen.append((label, x, y))
    return out


def legend_label(label: str, identical: Mapping[str, str]) -> str:
    """``label``, with ``(identical to X)`` when its series is the same as X's."""
    return f"{label} (identical to {identical[label]})" if label in identical else label
