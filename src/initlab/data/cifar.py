"""Reader for the CIFAR-10 python tarball (https://www.cs.toronto.edu/~kriz/cifar.html).

``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/data_batch_1`` … ``data_batch_5`` (10,000
training images each) and ``test_batch`` (10,000), each a pickled dict whose ``b"data"`` is a uint8
N×3072 array — the red, green and blue 32×32 planes of each image in row-major order — and whose
``b"labels"`` is a list of N ints in 0..9.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from initlab.data.pickles import load_array_pickle
from initlab.errors import DataError

FOLDER = "cifar-10-batches-py"
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def read_cifar10_tarball(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``split`` ("train" or "test") of a CIFAR-10 python tarball: uint8 images N×3×32×32, uint8 labels N.

    The tarball is read in one sequential pass that stops at the last batch needed; batches are
    concatenated in their official order (data_batch_1 … 5).
    """
    wanted = {f"{FOLDER}/{name}": name for name in BATCHES[split]}
    batches: dict[str, dict] = {}
    with tarfile.open(path, "r|gz") as tar:
        for member in tar:
            if member.name in wanted and member.isfile():
                batches[wanted[member.name]] = load_array_pickle(tar.extractfile(member))
                if len(batches) == len(wanted):
                    break
    missing = [name for name in BATCHES[split] if name not in batches]
    if missing:
        raise DataError(f"{path}: not a CIFAR-10 python tarball, missing {FOLDER}/{missing[0]}")
    images, labels = [], []
    for name in BATCHES[split]:
        batch = batches[name]
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(batch[b"labels"]) != len(data):
            raise DataError(f"{path}: {name} has data {data.shape} and {len(batch[b'labels'])} labels")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"], dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)
