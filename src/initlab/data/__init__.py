"""Named datasets as in-memory tensors: ``load_dataset("mnist", "train")``.

Names (``DATASETS.names()``): ``mnist``, ``fashion-mnist``, ``cifar10`` (real images, see
:mod:`initlab.data.images` for where they are read from: the cache ``$INITLAB_DATA`` / ``~/.cache/initlab``
holding the official files, then an installed data package, then a download only with
``download=True``), ``digits`` (scikit-learn's 8×8 set, :mod:`initlab.data.digits`) and
``synthetic-blobs`` / ``synthetic-teacher`` (generated from a seed, :mod:`initlab.data.synthetic`), and
``shakespeare-char`` (a character-level text corpus split by play, :mod:`initlab.data.shakespeare`),
whose splits ("train", "val", "test") are :class:`TokenCorpus` token streams, not labelled images.

Each entry's metadata (``DATASETS.get(name).meta``) holds ``description`` (one line), ``classes``
(class names, or None), ``source`` (citation or URL) and ``val_size``: the validation-set size runs
take from the training split — an int, or for synthetic sets a function of the validated params;
:func:`default_val_size` resolves either.

Real images load once per process (the uint8 arrays are memoized); each call returns fresh tensors,
so callers may modify them. :func:`clear_memo` forgets what was loaded.
"""

from __future__ import annotations

import os
from typing import Any

from initlab.data import digits, images, shakespeare, sources, synthetic  # noqa: F401  (importing registers them)
from initlab.data.corpus import TokenCorpus
from initlab.data.dataset import Dataset, train_val_split
from initlab.data.registry import DATASETS
from initlab.errors import one_of

__all__ = [
    "DATASETS",
    "Dataset",
    "TokenCorpus",
    "clear_memo",
    "dataset_splits",
    "default_val_size",
    "load_dataset",
    "train_val_split",
]

SPLITS = ("train", "test")
"""The splits of a dataset whose metadata names none (``meta["splits"]``; a corpus has a "val" too)."""


def dataset_splits(name: str) -> tuple[str, ...]:
    """The splits dataset ``name`` has: ("train", "test"), or ("train", "val", "test") for a corpus."""
    return DATASETS.get(name).meta.get("splits", SPLITS)


def clear_memo() -> None:
    """Forget every dataset loaded in this process, images and corpora (the next load reads its files)."""
    sources.clear_memo()
    shakespeare.clear_memo()


def load_dataset(
    name: str,
    split: str = "train",
    *,
    download: bool = False,
    root: str | os.PathLike[str] | None = None,
    **params: Any,
) -> Dataset | TokenCorpus:
    """Load ``split`` ("train" or "test"; a corpus also "val") of dataset ``name`` (see ``DATASETS.names()``).

    ``download`` allows fetching missing real-image files from their official URLs into the cache;
    ``root`` overrides the cache directory; ``params`` are the dataset's own (synthetic sets: n, dim,
    classes, ...), validated against its signature. Raises UnknownNameError for an unknown name,
    ConfigError for a bad split or parameter, DataError (ChecksumError) when the data cannot be had.
    """
    entry = DATASETS.get(name)
    splits = dataset_splits(name)
    if split not in splits:
        raise one_of("split", split, splits)
    return entry.fn(split, download=download, root=root, **entry.validate(params))


def default_val_size(name: str, **params: Any) -> int:
    """The validation-set size runs split off ``name``'s training set (``meta["val_size"]``, resolved)."""
    entry = DATASETS.get(name)
    val_size = entry.meta["val_size"]
    return val_size(entry.validate(params)) if callable(val_size) else val_size
