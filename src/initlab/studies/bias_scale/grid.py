"""The bias-scale study's grid: zero weights with b ~ N(0, s²) at each scale s, per model and preset.

Optimizer, learning rate and batch size are the seed study's (c-schicho/ZeroInitializationSymmetry:
Adam, 1e-3, batch 128, a 7,000-image validation split off MNIST's training set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from initlab.studies.base import Preset

SCALES = (0.01, 0.1, 1.0, 10.0, 100.0)
#: The claims compare the largest scale with the seed study's default factor.
REFERENCE_SCALE, LARGE_SCALE = 1.0, 100.0
FULL_SEEDS = 5


@dataclass(frozen=True)
class Part:
    """One model of the sweep: the seed study's epochs, and the quick preset's cut-down."""

    model: str
    epochs: int
    quick_epochs: int
    quick_train_size: int
    quick_seeds: int
    quick_scales: tuple[float, ...]

    def sweep(self, preset: Preset) -> dict[str, Any]:
        base: dict[str, Any] = {
            "dataset": "mnist",
            "model": self.model,
            "init": "zero-weight-random-bias",
            "init_params": {"dist": "normal"},
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": 128,
        }
        if preset == "quick":
            base |= {"epochs": self.quick_epochs, "train_size": self.quick_train_size, "val_size": 1000}
            scales, seeds = self.quick_scales, self.quick_seeds
        else:
            base |= {"epochs": self.epochs}
            scales, seeds = SCALES, FULL_SEEDS
        return {
            "name": self.model,
            "base": base,
            "axes": {"init_params.scale": list(scales), "seed": f"0..{seeds - 1}"},
        }


# -- the presets ------------------------------------------------------------------------------------

#: Full preset: the seed study's settings (FNN 10 epochs, CNN 15, 5 seeds, the 7,000-image validation
#: split). Quick preset: the FNN on 10,000 training images for 10 epochs with 3 seeds at every scale;
#: the CNN on 12,000 images for 2 epochs with 2 seeds at scales 1 and 100 only (a CNN run costs about
#: a minute on one CPU core, most of it evaluating the 10,000 test images).
PARTS = (
    Part("mnist-fnn", 10, 10, 10_000, 3, SCALES),
    Part("mnist-cnn", 15, 2, 12_000, 2, (REFERENCE_SCALE, LARGE_SCALE)),
)


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    """The preset's sweeps as sweep-spec tables, one per model."""
    return [part.sweep(preset) for part in PARTS]
