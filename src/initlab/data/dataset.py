"""The in-memory dataset every loader returns: image tensors and labels, ready to move to a device."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass(frozen=True)
class Dataset:
    """A labelled image set held in memory.

    ``x`` is float32 of shape N×C×H×W with values in [0, 1] (synthetic sets: N×1×1×D, any range);
    ``y`` is int64 class indices in [0, num_classes).
    """

    name: str
    split: str
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        if self.x.dtype != torch.float32 or self.x.dim() != 4:
            raise ValueError(f"x must be float32 N×C×H×W, got {self.x.dtype} {tuple(self.x.shape)}")
        if self.y.dtype != torch.int64 or self.y.shape != (self.x.shape[0],):
            raise ValueError(
                f"y must be int64 of length {self.x.shape[0]}, got {self.y.dtype} {tuple(self.y.shape)}"
            )

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """C, H, W of one sample."""
        return tuple(self.x.shape[1:])  # type: ignore[return-value]

    @property
    def class_counts(self) -> torch.Tensor:
        """Number of samples per class, length ``num_classes``."""
        return torch.bincount(self.y, minlength=self.num_classes)

    def subset(self, index: torch.Tensor, split: str | None = None) -> Dataset:
        """The samples at ``index`` (a 1-D index tensor), as a new dataset."""
        return replace(self, x=self.x[index], y=self.y[index], split=split or self.split)

    def to(self, device: torch.device | str) -> Dataset:
        return replace(self, x=self.x.to(device), y=self.y.to(device))


def train_val_split(train: Dataset, val_size: int, seed: int) -> tuple[Dataset, Dataset]:
    """Split a validation set of ``val_size`` samples off ``train`` with a generator seeded by ``seed``.

    The same seed gives the same split on every machine (the permutation is drawn on the CPU).
    """
    train_idx, val_idx = split_indices(len(train), val_size, seed, train.name)
    return train.subset(train_idx, "train"), train.subset(val_idx, "val")


def split_indices(
    n: int, val_size: int, seed: int, name: str = "the dataset", train_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, validation) of :func:`train_val_split` into a set of ``n`` samples called ``name``.

    The validation indices are the first ``val_size`` of a permutation drawn from a CPU generator
    seeded by ``seed``; the training indices are the rest, in that permutation's order, or the first
    ``train_size`` of them. Sizes the set cannot give are refused alike, never quietly shrunk.
    """
    from initlab.errors import ConfigError

    if not 0 <= val_size < n:
        raise ConfigError(f"val_size={val_size} is out of range for {name}: allowed 0 <= val_size < {n}")
    if train_size is not None and not 0 < train_size <= n - val_size:
        raise ConfigError(
            f"train_size={train_size} is out of range for {name}: allowed 1 <= train_size <= {n - val_size}"
            f" (its {n} training samples less val_size={val_size})"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:][:train_size], perm[:val_size]
