"""The report in a real browser (headless Chromium): it renders, its images load, it is not blank, it
is not endlessly long, and no figure title is cut off."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from browser import chromium, collect_clipped_titles, needs_chromium, page_check, png_size
from initlab.report import report_store
from report_stores import Stores

pytestmark = needs_chromium
#: The tallest page, in CSS pixels at a 1400-pixel-wide window, a report of these stores may be (a few
#: figures and tables: about 3,000 px).
MAX_HEIGHT = 6000


def test_the_page_renders_and_every_image_loads(stores: Stores, tmp_path: Path) -> None:
    report = report_store(stores.main, tmp_path / "out")
    dom, found = page_check(tmp_path, report)
    assert "<h2>Final test accuracy</h2>" in dom and "init=zero-weight-random-bias(dist=normal)" in dom
    sizes = [png_size(p) for p in sorted((tmp_path / "out").glob("*.png"), key=lambda p: p.name)]
    # the page orders figures as curves then final, which is also their files' alphabetical order
    assert found["images"] == [[True, w, h] for w, h in sizes]


@pytest.mark.parametrize("which", ["main", "lr_sweep"])
def test_no_title_is_clipped_and_the_page_is_not_too_long(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    clipped = collect_clipped_titles(monkeypatch)
    report = report_store(getattr(stores, which), tmp_path / "out")
    assert clipped == []
    _, found = page_check(tmp_path, report)
    assert 1000 < found["height"] <= MAX_HEIGHT, found["height"]


def test_a_screenshot_is_not_blank(stores: Stores, tmp_path: Path) -> None:
    report = report_store(stores.main, tmp_path / "out")
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", report.as_uri())
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape == (2000, 1200, 3)
    ink = (pixels < 0.9).any(axis=2)
    assert 0.03 < ink.mean() < 0.6, f"fraction of non-white pixels {ink.mean():.3f}"
    assert pixels.std() > 0.1
    rows_with_ink = ink.any(axis=1)
    assert rows_with_ink[:200].any() and rows_with_ink[1000:].any()  # content from the top to well below
    colors = np.unique((pixels[ink] * 8).astype(int), axis=0)
    assert len(colors) > 20  # figures in colour, not just text
