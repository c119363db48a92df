"""The zero-module study's grid: the U-Net under improved-diffusion's init and its variants, per preset.

Two sweeps:

- ``mechanics``: short runs of every variant with the ``symmetry`` probe (ranks on) at steps
  0 … ``WATCHED_STEPS`` − 1 and at the end of every epoch, and the ``update-order`` probe at the first
  ``ORDER_STEPS`` steps and every epoch; sampling off. Variants: ``zero-module`` (the reference),
  PyTorch's default, all zeros, constant filters (Adam and SGD), constant filters with random biases,
  constant filters with dropout, two zero modules in a row, and the reference init on a U-Net whose
  ResBlock branches are one channel wide (what constant filters collapse to).
- ``training``: ``zero-module`` against PyTorch's default, longer, more seeds, with the evaluation loss
  and the Fréchet distance of DDIM samples at every epoch and a grid of samples at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from initlab.studies.presets import Budget, Preset, preset_sweep

#: Steps the symmetry probe records one by one (states 0, 1, 2: init, after one and two updates).
WATCHED_STEPS = 3
#: Steps the update-order probe looks at one by one.
ORDER_STEPS = 6
#: Samples stored per run for the report's grids.
GRID = 16
DROPOUT = 0.1
SGD_LR = 0.05


def _variant(init: str, inner: str | None = None, **fields: Any) -> dict[str, Any]:
    bundle: dict[str, Any] = {"init": init, **fields}
    if inner is not None:
        bundle["init_params"] = {"inner": inner}
    return bundle


#: The mechanics sweep's variants (bundles of config fields over the part's base).
VARIANTS = (
    _variant("zero-module"),
    _variant("pytorch-default"),
    _variant("zeros"),
    _variant("zero-module", "constant"),
    _variant("zero-module", "constant", optimizer="sgd", lr=SGD_LR),
    _variant("zero-module", "constant-random-bias"),
    _variant("zero-module", "constant", model_params={"dropout": DROPOUT}),
    _variant("zero-module", "zero"),
    _variant("zero-module", model_params={"branch_width": 1}),
)


@dataclass(frozen=True)
class Setting:
    """One preset's data, model size and budgets."""

    dataset: str
    model_channels: int
    batch_size: int
    lr: float
    train_size: int | None
    val_size: int | None
    mechanics_epochs: int
    mechanics_seeds: int
    training_epochs: int
    training_seeds: int
    sample_count: int
    sampling_steps: int
    eval_size: int

    def steps_per_epoch(self, train: int) -> int:
        return math.ceil(train / self.batch_size)


#: quick: sklearn's 8×8 digits (real handwriting; 1,137 training images), 16 base channels, 2 cores.
#: full: MNIST at 28×28, 32 base channels, improved-diffusion's learning rate 1e-4, for a GPU.
SETTINGS: dict[Preset, Setting] = {
    "quick": Setting("digits", 16, 128, 1e-3, 1_137, 300, 3, 2, 30, 3, 200, 10, 300),
    "full": Setting("mnist", 32, 128, 1e-4, None, None, 3, 3, 30, 5, 1_000, 50, 1_000),
}
#: Training images of the full preset's dataset (MNIST: 60,000 minus the 7,000-image validation split).
FULL_TRAIN = 53_000


def _base(setting: Setting) -> dict[str, Any]:
    return {
        "dataset": setting.dataset,
        "model": "unet",
        "model_params": {"model_channels": setting.model_channels},
        "optimizer": "adam",
        "lr": setting.lr,
        "batch_size": setting.batch_size,
    }


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    """The preset's two sweeps as sweep-spec tables."""
    s = SETTINGS[preset]
    epoch = s.steps_per_epoch(s.train_size or FULL_TRAIN)
    tasks = {"eval_size": s.eval_size}
    mechanics = {
        **_base(s),
        "task_params": {**tasks, "sample_count": 0},
        "probes": {
            "symmetry": {"first": WATCHED_STEPS, "every": epoch, "rank": True},
            "update-order": {"first": ORDER_STEPS, "every": epoch},
        },
    }
    training = {
        **_base(s),
        "task_params": {**tasks, "sample_count": s.sample_count, "sampling_steps": s.sampling_steps},
        "probes": {"samples": {"count": GRID}},
    }
    return [
        preset_sweep(
            "mechanics",
            Budget(s.mechanics_epochs, s.mechanics_seeds, s.train_size, s.val_size),
            mechanics,
            {"variant": list(VARIANTS)},
        ),
        preset_sweep(
            "training",
            Budget(s.training_epochs, s.training_seeds, s.train_size, s.val_size),
            training,
            {"init": ["zero-module", "pytorch-default"]},
        ),
    ]
