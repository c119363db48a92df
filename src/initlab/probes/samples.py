"""The ``samples`` probe: a few images a denoiser generates, kept in the store for the report's grids.

At the end of the last epoch (and, with ``every_epochs``, at the end of every such epoch and at init)
it draws ``count`` images with the run's denoise task (DDIM from the fixed sampling noise, the same for
every run: :meth:`initlab.tasks.denoise.Denoise.sample`) and records each pixel as a row: layer
``sample/<i>``, name ``pixel/<j>`` (j in row-major C×H×W order), value the 8-bit grey level 0–255. A
report rebuilds the grid from the store alone. Cost: ``count`` images × DDIM steps forward passes,
and count·C·H·W rows (16 MNIST digits: 12,544 rows).
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field

from initlab.callbacks import TrainContext
from initlab.errors import ConfigError
from initlab.probes.base import Probe
from initlab.probes.registry import register_probe
from initlab.records import ProbeRow
from initlab.tasks import Denoise

LEVELS = 255


def pixel_rows(step: int, images: torch.Tensor) -> list[ProbeRow]:
    """One row per pixel of ``images`` (N × C × H × W in [0, 1]) as 8-bit grey levels."""
    levels = (images.detach().cpu().double() * LEVELS).round().flatten(1)
    return [
        ProbeRow(step, f"sample/{i}", f"pixel/{j}", value)
        for i, row in enumerate(levels.tolist())
        for j, value in enumerate(row)
    ]


@register_probe
class SamplesProbe(Probe):
    """``count`` generated images at the end of training (and every ``every_epochs`` epochs), as rows.

    Only for a denoising run (model ``unet``, or any model whose task is ``denoise``).
    """

    name = "samples"
    task = "denoise"

    def __init__(
        self,
        *,
        count: Annotated[int, Field(ge=1, le=256)] = 16,
        every_epochs: Annotated[int, Field(ge=0)] = 0,
    ):
        super().__init__(first=0, every=0)
        self.count, self.every_epochs = count, every_epochs
        self.task: Denoise | None = None
        self.shape: tuple[int, ...] = ()

    def wants(self, event: str) -> bool:
        return event in ("on_train_start", "on_step_start", "on_epoch_end", "on_train_end")

    def on_train_start(self, ctx: TrainContext) -> None:
        super().on_train_start(ctx)
        self.task = Denoise(ctx.config)

    def on_step_start(self, ctx: TrainContext) -> None:
        if not self.shape:
            inputs = ctx.inputs
            if not isinstance(inputs, tuple):
                raise ConfigError(
                    f"the samples probe needs a denoising run (model 'unet'); model {ctx.config.model!r} "
                    "is trained on one input tensor"
                )
            self.shape = tuple(inputs[0].shape[1:])
            if self.every_epochs:
                self.record(0)

    def on_epoch_end(self, ctx: TrainContext) -> None:
        last = ctx.epoch == ctx.config.epochs
        if self.shape and (last or (self.every_epochs and ctx.epoch % self.every_epochs == 0)):
            self.record(ctx.epoch * ctx.steps_per_epoch)

    def record(self, step: int) -> list[ProbeRow]:
        model = self._attached()
        images = self.task.sample(model, self.shape, self.count)
        return self._keep(pixel_rows(step, images))
