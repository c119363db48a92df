"""Synthetic classification sets generated from a seed, for fast tests and controlled studies.

Each sample is a D-vector stored as x of shape N×1×1×D (so image models and MLPs take it alike:
flatten gives D); labels are int64. x is not in [0, 1]: it is Gaussian. Both splits hold ``n``
samples of the same task (the same blob centres, the same teacher), drawn from independent generator
streams: the task, the train split and the test split each get their own CPU generator, derived from
``seed`` with numpy's ``SeedSequence`` spawn keys 0, 1, 2. The same parameters give the same tensors,
bit for bit, on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from pydantic import Field

from initlab.data.dataset import Dataset
from initlab.data.registry import DATASETS

STREAMS = {"task": 0, "train": 1, "test": 2}


def stream_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for ``stream`` ("task", "train" or "test") of ``seed``; streams are independent."""
    state = np.random.SeedSequence(seed, spawn_key=(STREAMS[stream],)).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _val_size(params: dict) -> int:
    return params["n"] // 10


def _as_dataset(name: str, split: str, x: torch.Tensor, y: torch.Tensor, classes: int) -> Dataset:
    return Dataset(name, split, x.reshape(len(x), 1, 1, -1), y, classes)


def blob_centres(dim: int, classes: int, seed: int) -> torch.Tensor:
    """The ``classes``×``dim`` blob centres of seed ``seed``: standard normal, from the task stream."""
    return torch.randn(classes, dim, generator=stream_generator(seed, "task"))


@DATASETS.register(
    "synthetic-blobs",
    description="Gaussian blobs: one standard-normal centre per class plus isotropic noise; x N×1×1×dim",
    val_size=_val_size,
    classes=None,
    source="generated (initlab.data.synthetic)",
)
def synthetic_blobs(
    split: str,
    *,
    n: Annotated[int, Field(ge=1)] = 2000,
    dim: Annotated[int, Field(ge=1)] = 16,
    classes: Annotated[int, Field(ge=2)] = 4,
    noise: Annotated[float, Field(ge=0)] = 1.0,
    seed: Annotated[int, Field(ge=0)] = 0,
    download: bool = False,
    root: Path | None = None,
) -> Dataset:
    """Blobs: x = centre[y] + noise·N(0, I); y balanced (n//classes per class, or one more), shuffled."""
    g = stream_generator(seed, split)
    y = torch.randperm(n, generator=g) % classes
    x = blob_centres(dim, classes, seed)[y] + noise * torch.randn(n, dim, generator=g)
    return _as_dataset("synthetic-blobs", split, x, y, classes)


@dataclass(frozen=True)
class Teacher:
    """A random one-hidden-layer tanh MLP without biases: logits = tanh(x W1ᵀ) W2ᵀ."""

    w1: torch.Tensor  # hidden×dim, N(0, 1/dim)
    w2: torch.Tensor  # classes×hidden, N(0, 1/hidden)

    @classmethod
    def from_seed(cls, dim: int, classes: int, hidden: int, seed: int) -> Teacher:
        """The teacher of seed ``seed``, drawn from its task stream."""
        g = stream_generator(seed, "task")
        w1 = torch.randn(hidden, dim, generator=g) / dim**0.5
        return cls(w1, torch.randn(classes, hidden, generator=g) / hidden**0.5)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N×classes for inputs N×dim."""
        return torch.tanh(x @ self.w1.T) @ self.w2.T


@DATASETS.register(
    "synthetic-teacher",
    description="Teacher labels: a random tanh MLP's argmax on standard-normal inputs; x N×1×1×dim",
    val_size=_val_size,
    classes=None,
    source="generated (initlab.data.synthetic)",
)
def synthetic_teacher(
    split: str,
    *,
    n: Annotated[int, Field(ge=1)] = 2000,
    dim: Annotated[int, Field(ge=1)] = 16,
    classes: Annotated[int, Field(ge=2)] = 4,
    hidden: Annotated[int, Field(ge=1)] = 32,
    seed: Annotated[int, Field(ge=0)] = 0,
    download: bool = False,
    root: Path | None = None,
) -> Dataset:
    """Teacher: x ~ N(0, I), y = argmax of :class:`Teacher` logits (classes need not be balanced)."""
    x = torch.randn(n, dim, generator=stream_generator(seed, split))
    y = Teacher.from_seed(dim, classes, hidden, seed)(x).argmax(dim=1)
    return _as_dataset("synthetic-teacher", split, x, y, classes)
