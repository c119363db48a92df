"""The CIFAR-10 python-tarball reader and cache source, on a small tarball in the official format."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from initlab.data import images, load_dataset
from initlab.data.cifar import read_cifar10_tarball
from initlab.data.pickles import load_array_pickle
from initlab.errors import ChecksumError, DataError

PER_BATCH = 2


def batch(first: int, count: int) -> dict[bytes, object]:
    """A batch dict as in the official pickles: image i has R plane = i, G = 100 + i, B = 200 + i,
    except one marked pixel at row 1, column 2 of the R plane, equal to 255 - i."""
    data = np.zeros((count, 3 * 1024), dtype=np.uint8)
    for k in range(count):
        i = first + k
        data[k, :1024], data[k, 1024:2048], data[k, 2048:] = i, 100 + i, 200 + i
        data[k, 1 * 32 + 2] = 255 - i
    return {
        b"batch_label": b"test batch",
        b"labels": [(first + k) % 10 for k in range(count)],
        b"data": data,
        b"filenames": [b"img%d.png" % (first + k) for k in range(count)],
    }


def write_tarball(path: Path) -> str:
    """Write a CIFAR-10 python tarball with 5×2 training images and 3 test images; return its MD5."""
    members = {f"data_batch_{b}": batch(PER_BATCH * (b - 1), PER_BATCH) for b in range(1, 6)}
    members["test_batch"] = batch(50, 3)
    members["batches.meta"] = {b"label_names": [b"airplane"] * 10}
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            data = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache dir holding the small tarball, its MD5 registered as the official one."""
    path = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    monkeypatch.setattr(images, "CIFAR10_MD5", write_tarball(path))
    return tmp_path


def test_reader_gives_rgb_planes_in_batch_order(tmp_path: Path) -> None:
    path = tmp_path / "c.tar.gz"
    write_tarball(path)
    x, y = read_cifar10_tarball(path, "train")
    assert x.shape == (10, 3, 32, 32) and x.dtype == np.uint8
    assert y.tolist() == list(range(10))
    assert x[3, 0, 0, 0] == 3 and x[3, 1, 5, 7] == 103 and x[3, 2, 31, 31] == 203
    assert x[3, 0, 1, 2] == 252 and x[3, 0, 2, 1] == 3  # row-major: row 1, column 2
    x_test, y_test = read_cifar10_tarball(path, "test")
    assert x_test.shape == (3, 3, 32, 32) and y_test.tolist() == [0, 1, 2]


def test_load_from_the_cache(cache: Path) -> None:
    train = load_dataset("cifar10", "train", root=cache)
    assert train.input_shape == (3, 32, 32) and len(train) == 10 and train.num_classes == 10
    assert torch.allclose(train.x[4, :, 0, 0], torch.tensor([4, 104, 204]) / 255)
    assert len(load_dataset("cifar10", "test", root=cache)) == 3
    assert (cache / "cifar10" / "cifar-10-python.tar.gz.verified").is_file()


def test_corrupt_tarball_raises_checksum_error(cache: Path) -> None:
    path = cache / "cifar10" / "cifar-10-python.tar.gz"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"cifar-10-python\.tar\.gz: MD5"):
        load_dataset("cifar10", "train", root=cache)
    assert sorted(p.name for p in path.parent.iterdir()) == ["cifar-10-python.tar.gz"]


def test_missing_tarball_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"download=True \(--download\), or put cifar-10-python.tar.gz in"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_pickles_may_only_hold_arrays() -> None:
    arrays = {b"data": np.arange(6, dtype=np.uint8).reshape(2, 3), b"labels": [1, 2]}
    loaded = load_array_pickle(io.BytesIO(pickle.dumps(arrays, protocol=2)))
    np.testing.assert_array_equal(loaded[b"data"], arrays[b"data"])
    with pytest.raises(DataError, match=r"refusing to unpickle pathlib\."):
        load_array_pickle(io.BytesIO(pickle.dumps(Path("x"))))
