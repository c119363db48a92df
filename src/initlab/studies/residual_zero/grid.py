"""The residual-zero study's grid: the ResNet schemes and the constant-init nets, per preset.

Every probe the analysis reads is attached through the run config: ``symmetry`` (with ranks) at
steps 0 … ``WAKE_UP_STEPS`` and at the end of every epoch, ``update-order`` at the first 10 steps
and the end of every epoch. Optimizer, learning rate and batch size are the seed study's
(:mod:`initlab.studies.presets`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from initlab.studies.presets import BATCH_SIZE, Budget, Preset, preset_sweep
from initlab.studies.zero_symmetry import cifar10_available

#: Every weight of a zero-branch scheme gets a non-zero gradient by this step (0-based).
WAKE_UP_STEPS = 2

#: Option B shortcuts (a strided 1×1 conv where the shape changes): see the package docstring.
RESNET = {"model": "resnet-cifar", "model_params": {"depth": 20, "shortcut": "conv"}}


def _resnet(init: str, norm: str, **model_params: Any) -> dict[str, Any]:
    return {"init": init, "model_params": {"norm": norm, **model_params}}


#: (scheme, bundle) of the ResNet comparison; the defaults are the references of their norm.
RESNET_SCHEMES = (
    _resnet("zeros", "none"),
    _resnet("pytorch-default", "none"),
    _resnet("zero-last-layer", "none"),
    _resnet("fixup", "none", fixup=True),
    _resnet("rezero", "none"),
    _resnet("skipinit", "none"),
    _resnet("zero-last-norm", "batch"),
    _resnet("pytorch-default", "batch"),
)
#: The schemes that zero each residual branch's end (its last layer, a scalar gain or BatchNorm's γ).
ZERO_BRANCH = ("zero-last-layer", "fixup", "rezero", "skipinit", "zero-last-norm")


@dataclass(frozen=True)
class Part:
    """One sweep of the study: a dataset, its training length, and the (model, init) points."""

    name: str
    dataset: str
    epochs: int
    train_size: int
    """Training images (the training split minus the validation split when that is all of it)."""
    val_size: int
    seeds: int
    axes: dict[str, list[Any]]
    base: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_size / BATCH_SIZE)

    def sweep(self) -> dict[str, Any]:
        epoch = self.steps_per_epoch
        probes = {
            "symmetry": {"first": WAKE_UP_STEPS + 1, "every": epoch, "rank": True},
            "update-order": {"first": 10, "every": epoch},
        }
        budget = Budget(self.epochs, self.seeds, self.train_size, self.val_size)
        base = {"dataset": self.dataset, "probes": probes, **self.base}
        return preset_sweep(self.name, budget, base, self.axes)


def constant_part(model: str, dataset: str, epochs: int, train_size: int, val_size: int, seeds: int) -> Part:
    """The seed study's ``model`` with every weight 0.01, and its default-initialized twin."""
    axes: dict[str, list[Any]] = {"model": [model], "init": ["constant", "pytorch-default"]}
    return Part(f"constant-{model}", dataset, epochs, train_size, val_size, seeds, axes)


def resnet_part(
    name: str, dataset: str, epochs: int, train_size: int, val_size: int, seeds: int, **extra: Any
) -> Part:
    """resnet-20 (option B shortcuts) under every scheme of ``RESNET_SCHEMES``."""
    axes: dict[str, list[Any]] = {"scheme": list(RESNET_SCHEMES)}
    return Part(name, dataset, epochs, train_size, val_size, seeds, axes, {**RESNET, **extra})


# -- the presets ------------------------------------------------------------------------------------

#: MNIST, Fashion-MNIST: 60,000 training images minus the 7,000-image validation split; CIFAR-10: 50,000.
FULL_TRAIN, CIFAR_TRAIN, FULL_VAL = 53_000, 43_000, 7_000


def preset_parts(preset: Preset) -> list[Part]:
    """The preset's sweeps. quick: resnet-20 on sklearn's digits (20 epochs, 3 seeds), the constant
    nets on 6,000 MNIST images for one epoch (2 seeds); full: resnet-20 on Fashion-MNIST (15 epochs) and
    CIFAR-10 when present (30 epochs, crop-flip, standardized), the constant nets for the seed study's
    15 (CNN) and 10 (FNN) epochs on MNIST, 5 seeds each."""
    if preset == "quick":
        return [
            resnet_part("resnet20-digits", "digits", 20, 1_137, 300, 3),
            constant_part("mnist-cnn", "mnist", 1, 6_000, 1_000, 2),
            constant_part("mnist-fnn", "mnist", 1, 6_000, 1_000, 2),
        ]
    parts = [
        resnet_part("resnet20-fashion", "fashion-mnist", 15, FULL_TRAIN, FULL_VAL, 5),
        constant_part("mnist-cnn", "mnist", 15, FULL_TRAIN, FULL_VAL, 5),
        constant_part("mnist-fnn", "mnist", 10, FULL_TRAIN, FULL_VAL, 5),
    ]
    if cifar10_available():
        parts.append(
            resnet_part(
                "resnet20-cifar", "cifar10", 30, CIFAR_TRAIN, FULL_VAL, 5, augment="crop-flip", normalize=True
            )
        )
    return parts


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    """The preset's sweeps as sweep-spec tables."""
    return [part.sweep() for part in preset_parts(preset)]
