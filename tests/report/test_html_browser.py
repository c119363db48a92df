"""The report in a real browser (headless Chromium): it renders, its images load, it is not blank."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from initlab.report import report_store
from report_stores import Stores

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; CI installs it)"
)
# Collects, once the page has loaded, whether each image decoded and at what size.
IMAGE_CHECK = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "image-check";
  const images = [...document.images];
  out.textContent = JSON.stringify(images.map(i => [i.complete, i.naturalWidth, i.naturalHeight]));
  document.body.appendChild(out);
});
</script>"""


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


def test_the_page_renders_and_every_image_loads(stores: Stores, tmp_path: Path) -> None:
    report = report_store(stores.main, tmp_path / "out")
    probe = tmp_path / "out" / "probe.html"  # the same page, plus a script that reports on its images
    probe.write_text(report.read_text().replace("</body>", IMAGE_CHECK + "</body>"))
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()).stdout
    assert "<h2>Final test accuracy</h2>" in dom and "init=zero-weight-random-bias(dist=normal)" in dom
    found = re.search(r'<pre id="image-check">(.*?)</pre>', dom)
    assert found, "the load handler never ran"
    images = json.loads(found.group(1))
    sizes = [png_size(p) for p in sorted((tmp_path / "out").glob("*.png"), key=lambda p: p.name)]
    # the page orders figures as curves then final, which is also their files' alphabetical order
    assert images == [[True, w, h] for w, h in sizes]


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
