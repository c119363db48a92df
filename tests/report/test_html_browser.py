"""The report in a real browser (headless Chromium): it renders, its images load, it is not blank, it
is not endlessly long, and no figure title is cut off."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from initlab.report import html, report_store
from initlab.report.figures import png_bytes
from initlab.report.layout import clipped_titles
from report_stores import Stores

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; CI installs it)"
)
# Collects, once the page has loaded, whether each image decoded and at what size, and the page's height.
PAGE_CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]);
  const height = Math.ceil(document.body.getBoundingClientRect().height);
  const out = document.createElement("pre");
  out.id = "page-check";
  out.textContent = JSON.stringify({images, height});
  document.body.appendChild(out);
});
</script>"""
WINDOW = "--window-size=1400,1000"
#: The tallest page, in CSS pixels at a 1400-pixel-wide window, a report of these stores may be (a few
#: figures and tables: about 3,000 px; the update-order study's report once grew to 32,000).
MAX_HEIGHT = 6000


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a fresh profile and no background network traffic."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def page_check(tmp_path: Path, report: Path) -> tuple[str, dict[str, Any]]:
    """The page's DOM after load, and what :data:`PAGE_CHECK` found: its images and its height."""
    probe = report.parent / "probe.html"  # the same page, plus the script
    probe.write_text(report.read_text().replace("</body>", PAGE_CHECK + "</body>"))
    dom = chromium(tmp_path, "--virtual-time-budget=10000", WINDOW, "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'<pre id="page-check">(.*?)</pre>', dom)
    assert found, "the load handler never ran"
    return dom, json.loads(found.group(1))


def rendered_with_title_check(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every figure a report renders from now on is checked after rendering: the titles still clipped
    are collected in the returned list."""
    clipped: list[str] = []

    def render(fig: Figure, dpi: int = 110) -> bytes:
        png = png_bytes(fig, dpi)
        clipped.extend(clipped_titles(fig))
        return png

    monkeypatch.setattr(html, "png_bytes", render)
    return clipped


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
    clipped = rendered_with_title_check(monkeypatch)
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
