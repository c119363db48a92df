"""Headless Chromium for the report tests: render a page, check that its images load and how tall it
is; and a check, as figures are rendered, that no title is cut off."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from initlab.report import html
from initlab.report.figures import png_bytes
from initlab.report.layout import clipped_titles

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
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
#: The tallest page, in CSS pixels at a 1400-pixel-wide window, a study's report may be (the
#: update-order study's quick preset: about 9,700 px; it once grew to 32,000).
MAX_STUDY_HEIGHT = 15_000


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


def check_study_page(tmp_path: Path, report: Path) -> None:
    """A study's report in the browser: every figure decodes, and the page is not endlessly long."""
    _, found = page_check(tmp_path, report)
    assert found["images"] and all(loaded and width > 0 for loaded, width, _ in found["images"])
    assert 1000 < found["height"] <= MAX_STUDY_HEIGHT, found["height"]


def collect_clipped_titles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every figure a report renders from now on is checked after rendering: the titles still clipped
    are collected in the returned list."""
    clipped: list[str] = []

    def render(fig: Figure, dpi: int = 110) -> bytes:
        png = png_bytes(fig, dpi)
        clipped.extend(clipped_titles(fig))
        return png

    monkeypatch.setattr(html, "png_bytes", render)
    return clipped
