"""Titles are wrapped to fit their panels when a figure is rendered for a report."""

from __future__ import annotations

from initlab.report.figures import new_figure, png_bytes
from initlab.report.layout import clipped_titles, fit_titles, wrap

LONG = "model=resnet-cifar(depth=20,norm=none,shortcut=conv), init=zero-last-layer, optimizer=sgd (seed 0)"


def test_a_title_wider_than_its_panel_is_wrapped_until_it_fits() -> None:
    fig = new_figure(8, 3)
    left, right = fig.subplots(1, 2)
    left.set_title(LONG, loc="left", fontsize=9)
    right.set_title("short")
    fig.suptitle(LONG + " " + LONG)
    assert set(clipped_titles(fig)) == {LONG, LONG + " " + LONG}
    fit_titles(fig)
    assert clipped_titles(fig) == []
    assert _joined(left.get_title(loc="left")) == _joined(LONG)  # wrapped, nothing cut
    assert left.get_title(loc="left").count("\n") >= 1 and right.get_title() == "short"


def test_rendering_for_a_report_fits_the_titles_and_axis_labels() -> None:
    fig = new_figure(4, 2.5)
    ax = fig.add_subplot()
    ax.set_title(LONG)
    ax.set_ylabel("dead (ReLU) or saturated (tanh, sigmoid) fraction")  # longer than the axes is high
    assert clipped_titles(fig) == [LONG, "dead (ReLU) or saturated (tanh, sigmoid) fraction"]
    png_bytes(fig)
    assert clipped_titles(fig) == [] and "\n" in ax.get_ylabel()


def _joined(text: str) -> str:
    return "".join(text.split())


def test_wrapping_breaks_after_spaces_commas_and_parentheses_and_keeps_every_character() -> None:
    assert wrap("model=resnet-cifar(depth=20,norm=none), init=zeros", 20) == (
        "model=resnet-cifar(\ndepth=20,norm=none),\ninit=zeros"
    )
    assert wrap("abcdefghij", 4) == "abcd\nefgh\nij"  # one long word: cut into chunks
    assert wrap("short", 20) == "short"
    assert _joined(wrap(LONG, 12)) == _joined(LONG) and max(len(x) for x in wrap(LONG, 12).split("\n")) <= 12
