"""Titles that fit: a panel title wider than its panel is cut off by the next panel or the figure's
edge ("…norm=non"), and a y label longer than its axes runs into the panel above, so every figure is
checked when it is rendered for a report.

:func:`fit_titles` wraps each title and axis label longer than its axes onto more lines (after spaces,
commas and parentheses, then anywhere) until it fits; :func:`clipped_titles` lists those that still do
not, measured with the figure's renderer, so tests can assert that a report has none.
"""

from __future__ import annotations

import math
import re

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

#: Rounds of wrapping: a layout engine can shrink the axes again after a title grows a line.
ROUNDS = 3


def axes_titles(ax: Axes) -> list[Text]:
    """The non-empty titles of ``ax`` (left, centre, right) as text artists."""
    wanted = {ax.get_title(loc) for loc in ("left", "center", "right")} - {""}
    return [t for t in ax.get_children() if isinstance(t, Text) and t.get_text() in wanted]


Room = tuple[Text, float, bool]
"""A text, the length it may take in pixels, and whether it runs vertically (a y label)."""


def titles(fig: Figure) -> list[Room]:
    """Every title and axis label of ``fig`` with the room it has: an axes title or x label its axes'
    width, a y label its axes' height, a figure-level text (a suptitle, a row title) the figure's width
    right of where it starts. Call after a draw, so that positions are final."""
    renderer = fig.canvas.get_renderer()
    out: list[Room] = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        box = ax.get_window_extent(renderer)
        out += [(title, box.width, False) for title in [*axes_titles(ax), ax.xaxis.label] if title.get_text()]
        if ax.yaxis.label.get_text():
            out.append((ax.yaxis.label, box.height, True))
    for text in fig.texts:  # the suptitle is one of them
        if text.get_visible() and text.get_text():
            box = text.get_window_extent(renderer)
            start = box.x0 if text.get_horizontalalignment() == "left" else fig.bbox.x0
            out.append((text, fig.bbox.x1 - start, False))
    return out


def _length(text: Text, vertical: bool) -> float:
    box = text.get_window_extent(text.figure.canvas.get_renderer())
    return box.height if vertical else box.width


def clipped_titles(fig: Figure) -> list[str]:
    """The titles and axis labels longer than their room (:func:`titles`) or reaching past the
    figure's edge."""
    fig.draw_without_rendering()
    page = fig.bbox
    out = []
    for text, room, vertical in titles(fig):
        box = text.get_window_extent(fig.canvas.get_renderer())
        outside = (
            box.x0 < page.x0 - 0.5
            or box.x1 > page.x1 + 0.5
            or box.y0 < page.y0 - 0.5
            or box.y1 > page.y1 + 0.5
        )
        if outside or _length(text, vertical) > room + 0.5:
            out.append(text.get_text())
    return out


def wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` characters, broken after spaces, commas and opening
    parentheses (condition labels such as ``model=resnet-cifar(depth=20,norm=none)`` have few
    spaces); a piece longer than a line is cut into line-long chunks."""
    pieces = re.findall(r"[^\s,(]+[,(]?\s*|[\s,(]+", text)
    chunks = [p[i : i + width] for p in pieces for i in range(0, len(p), width)]
    lines, line = [], ""
    for chunk in chunks:
        if line and len(line) + len(chunk.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += chunk
    lines.append(line.rstrip())
    return "\n".join(lines)


def fit_titles(fig: Figure) -> Figure:
    """Wrap every title of ``fig`` that is wider than its room, so none is cut off; returns ``fig``.

    Each round wraps the title's original text (:func:`wrap`), so a title wrapped twice reads the same
    as one wrapped once."""
    original: dict[Text, str] = {}
    for _ in range(ROUNDS):
        fig.draw_without_rendering()
        changed = False
        for title, room, vertical in titles(fig):
            ratio = _length(title, vertical) / max(room, 1.0)
            if ratio <= 1.0:
                continue
            text = original.setdefault(title, title.get_text())
            longest = max(len(line) for line in title.get_text().split("\n"))
            width = max(8, math.floor(longest / ratio) - 1)
            title.set_text(wrap(text, width))
            changed = True
        if not changed:
            break
    return fig
