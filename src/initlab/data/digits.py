"""scikit-learn's bundled 8×8 handwritten digits (UCI optdigits test set, Alpaydin & Kaynak 1998).

The 1,797 samples are read from ``sklearn/datasets/data/digits.csv.gz`` (one row per sample: 64 pixel
counts 0..16, then the label) without importing scikit-learn, which costs about a second; the decoded
table is checked against a pinned MD5. There is no official test split: ``test`` is the last 360
samples (20%, 33–37 per class) and ``train`` the first 1,437, a fixed split that needs no seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from initlab.data.dataset import Dataset
from initlab.data.files import checksum_error, md5_array, package_dir
from initlab.data.registry import DATASETS
from initlab.data.sources import Raw, Source, Unavailable, load_images

DIGITS_FILE = "datasets/data/digits.csv.gz"
DIGITS_MD5 = "265453a2439934797bb770ce205b6fad"  # of the decoded uint8 table, 1797×65
TEST_SIZE = 360


def _digits_table(split: str) -> Raw:
    """The split's images N×1×8×8 (uint8, 0..16) and labels from scikit-learn's digits.csv.gz."""
    root = package_dir("sklearn")
    if root is None:
        raise Unavailable("not installed")
    path = root / DIGITS_FILE
    if not path.is_file():
        raise Unavailable(f"installed, but {path} is missing")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    actual = md5_array(table)
    if actual != DIGITS_MD5:
        raise checksum_error(path, DIGITS_MD5, actual)
    rows = table[:-TEST_SIZE] if split == "train" else table[-TEST_SIZE:]
    return rows[:, :64].reshape(-1, 1, 8, 8), rows[:, 64]


@DATASETS.register(
    "digits",
    description="scikit-learn's 8×8 digits: 1,437 train / 360 test (the last 20%) grey images, 10 classes",
    val_size=300,
    classes=tuple(str(d) for d in range(10)),
    source="Alpaydin & Kaynak 1998, UCI Optical Recognition of Handwritten Digits (test part)",
)
def digits(split: str, *, download: bool = False, root: Path | None = None) -> Dataset:
    """Digits: x N×1×8×8 = pixel counts / 16 in [0, 1]; read from the installed scikit-learn."""
    sources = (Source("package scikit-learn", lambda: _digits_table(split)),)
    hint = "`pip install scikit-learn`"
    return load_images("digits", split, "", sources, hint, num_classes=10, max_value=16)
