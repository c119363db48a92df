"""Presets to sweeps: the training recipe and the data budgets the studies share, written once.

The seed study (c-schicho/ZeroInitializationSymmetry, "Training neural network with zero weight
initialization") trains every model with Adam at lr 1e-3, batch 128, a 7,000-image validation split
and 5 runs: :data:`SEED_STUDY_TRAINING` with :func:`full` budgets. Each study's ``quick`` preset cuts
that down to CPU minutes with :func:`quick`: a training subset, a 1,000-image validation split, fewer
epochs and seeds. A study writes each of its sweeps as one call::

    preset_sweep("mnist-fnn", BUDGETS[preset], {"dataset": "mnist", "model": "mnist-fnn"},
                 {"scheme": [DEFAULT, ZEROS]})

which gives the sweep-spec table ``Study.sweeps`` returns: the training recipe, the budget's epochs
and split sizes, then the study's own base fields (which win), and the study's axes plus the seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Preset = Literal["quick", "full"]
PRESETS: tuple[Preset, ...] = ("quick", "full")

BATCH_SIZE = 128
ADAM_LR = 1e-3
#: The seed study's optimizer, learning rate and batch size.
SEED_STUDY_TRAINING: Mapping[str, Any] = {"optimizer": "adam", "lr": ADAM_LR, "batch_size": BATCH_SIZE}
#: The seed study's runs per setting.
FULL_SEEDS = 5
#: The validation split of quick presets (the full presets keep the dataset's default, 7,000 on MNIST).
QUICK_VAL_SIZE = 1_000


@dataclass(frozen=True)
class Budget:
    """How long and on how much: one preset's epochs, seeds and split sizes (None: the default)."""

    epochs: int
    seeds: int
    train_size: int | None = None
    """Training images (None: the whole training split)."""
    val_size: int | None = None
    """Validation images split off the training set (None: the dataset's default)."""

    @property
    def seed_axis(self) -> str:
        """The sweep axis of seeds 0 … seeds−1."""
        return f"0..{self.seeds - 1}"

    def fields(self) -> dict[str, Any]:
        """The run-config fields this budget sets."""
        sizes = {"train_size": self.train_size, "val_size": self.val_size}
        return {"epochs": self.epochs, **{k: v for k, v in sizes.items() if v is not None}}


Budgets = Mapping[Preset, Budget]
"""A study's (or a part's) budget per preset."""


def full(epochs: int, seeds: int = FULL_SEEDS) -> Budget:
    """The seed study's budget: the whole training split, its default validation split, 5 seeds."""
    return Budget(epochs, seeds)


def quick(epochs: int, seeds: int, train_size: int, val_size: int = QUICK_VAL_SIZE) -> Budget:
    """A CPU-minutes budget: ``train_size`` training images and a small validation split."""
    return Budget(epochs, seeds, train_size, val_size)


def preset_sweep(
    name: str,
    budget: Budget,
    base: Mapping[str, Any],
    axes: Mapping[str, Any],
    *,
    training: Mapping[str, Any] = SEED_STUDY_TRAINING,
    zip_axes: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """The sweep-spec table of one part of a study: ``training``, then ``budget``'s fields, then
    ``base`` (its fields win); ``axes`` plus the budget's seeds; ``zip_axes`` move together."""
    spec: dict[str, Any] = {
        "name": name,
        "base": {**training, **budget.fields(), **base},
        "axes": {**axes, "seed": budget.seed_axis},
    }
    if zip_axes:
        spec["zip"] = [list(group) for group in zip_axes]
    return spec
