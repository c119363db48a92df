"""The bias-scale study's grid: zero weights with b ~ N(0, s²) at each scale s, per model and preset.

Optimizer, learning rate, batch size and the full preset's budget are the seed study's
(:mod:`initlab.studies.presets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from initlab.studies.presets import Budget, Preset, full, preset_sweep, quick

SCALES = (0.01, 0.1, 1.0, 10.0, 100.0)
#: The claims compare the largest scale with the seed study's default factor.
REFERENCE_SCALE, LARGE_SCALE = 1.0, 100.0


@dataclass(frozen=True)
class Part:
    """One model of the sweep: the seed study's epochs, and the quick preset's cut-down."""

    model: str
    epochs: int
    quick_epochs: int
    quick_train_size: int
    quick_seeds: int
    quick_scales: tuple[float, ...]

    def budget(self, preset: Preset) -> Budget:
        if preset == "quick":
            return quick(self.quick_epochs, self.quick_seeds, self.quick_train_size)
        return full(self.epochs)

    def sweep(self, preset: Preset) -> dict[str, Any]:
        scales = self.quick_scales if preset == "quick" else SCALES
        base = {
            "dataset": "mnist",
            "model": self.model,
            "init": "zero-weight-random-bias",
            "init_params": {"dist": "normal"},
        }
        return preset_sweep(self.model, self.budget(preset), base, {"init_params.scale": list(scales)})


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
