"""Denoising: DDPM ε-prediction on the dataset's images (Ho, Jain & Abbeel 2020, arXiv 2006.11239).

A training batch is the noisy images x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε and their steps t as the model's
inputs ``(x_t, t)`` (the model is called ``model(x_t, t)``), and ε as the target; the loss is the
mean squared error (:mod:`initlab.tasks.diffusion`). Images are scaled from [0, 1] to [−1, 1].
Each epoch visits every image once in a shuffled order, with t uniform in 0 … T − 1 and ε ~ N(0, I)
drawn from the run's own ``timesteps`` and ``noise`` streams (:func:`initlab.seeding.generator`).

The evaluation loss is deterministic and the same for every run: the first ``eval_size`` images of
the split, each with a step and a noise drawn from fixed generators that do not depend on the run's
seed, so two runs (two inits, two seeds) are scored on the very same noisy images.

Each evaluation of the test split also generates ``sample_count`` images by DDIM with
``sampling_steps`` steps (η = 0) from fixed noise (the same for every run) and records their
Fréchet distance to the split's first ``eval_size`` images (``frechet_distance``), in the features
of the dataset's classifier (:mod:`initlab.tasks.frechet`); ``sample_count=0`` turns sampling off.

``task_params``: ``diffusion_steps`` (T, default 1000), ``eval_size`` (1000), ``sample_count`` (500),
``sampling_steps`` (20).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field
from torch import nn

from initlab.config import RunConfig
from initlab.data import Dataset
from initlab.errors import ConfigError
from initlab.registry import Registry
from initlab.seeding import generator
from initlab.tasks.base import Batch, Task, register_task
from initlab.tasks.classify import epoch_batches
from initlab.tasks.diffusion import Diffusion
from initlab.tasks.frechet import FeatureClassifier, frechet_distance, load_classifier

#: The seed of the evaluation's steps and noise: one for every run, whatever its own seed.
EVAL_SEED = 0

_PARAMS: Registry = Registry("task")


@_PARAMS.register("denoise", kind="task")
def denoise_params(
    *,
    diffusion_steps: Annotated[int, Field(ge=2)] = 1000,
    eval_size: Annotated[int, Field(gt=0)] = 1000,
    sample_count: Annotated[int, Field(ge=0)] = 500,
    sampling_steps: Annotated[int, Field(ge=1)] = 20,
) -> None:
    """The denoise task's params (validated like a registry entry's)."""


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """Images from [0, 1] (how initlab's datasets hold them) to the diffusion's [−1, 1]."""
    return x * 2 - 1


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the batch: a scalar for B×C×H×W, one mean per model for S×B×C×H×W."""
    err = (outputs - targets).square()
    return err.mean() if outputs.dim() == 4 else err.flatten(1).mean(1)


@register_task
class Denoise(Task):
    """ε-prediction with uniform steps (module docstring)."""

    name = "denoise"

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if config.augment != "none" or config.normalize:
            raise ConfigError(
                f"the denoise task takes the images as they are (scaled to [−1, 1]); "
                f"augment={config.augment!r} and normalize={config.normalize} are not allowed with it "
                "(use augment='none', normalize=false)"
            )
        params: dict[str, Any] = _PARAMS.get("denoise").validate(config.task_params)
        self.diffusion = Diffusion(params["diffusion_steps"])
        self.eval_size: int = params["eval_size"]
        self.sample_count: int = params["sample_count"]
        self.sampling_steps: int = min(params["sampling_steps"], self.diffusion.steps)
        self._classifier: FeatureClassifier | None = None
        self.timesteps = generator(config.seed, "timesteps")
        self.noise = generator(config.seed, "noise")

    def classifiers(self) -> list[str]:
        return [self.config.dataset] if self.sample_count else []

    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        return -(-size // batch_size)

    def noisy(
        self, x: torch.Tensor, steps: torch.Generator, noise: torch.Generator
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``((x_t, t), ε)`` for the images ``x`` in [0, 1], t and ε drawn (on the CPU) from the
        generators."""
        t = torch.randint(self.diffusion.steps, (len(x),), generator=steps).to(x.device)
        eps = torch.randn(x.shape, generator=noise).to(x.device, x.dtype)
        return (self.diffusion.q_sample(to_model_range(x), t, eps), t), eps

    def batches(self, data: Dataset, batch_size: int, shuffle: torch.Generator) -> list[Batch]:
        return [
            self.noisy(data.x[i], self.timesteps, self.noise)
            for i in epoch_batches(len(data), batch_size, shuffle, data.x.device)
        ]

    def forward(self, model: nn.Module, inputs: Any) -> torch.Tensor:
        return model(*inputs)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return mse(outputs, targets)

    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, data: Dataset, batch_size: int) -> dict[str, float]:
        """The mean squared error of the predicted noise on the first ``eval_size`` images of ``data``,
        each with its fixed step and noise (the same for every run); on the test split also the
        Fréchet distance of generated samples to those images."""
        was_training = model.training
        model.eval()
        x = data.x[: self.eval_size]
        (xt, t), eps = self.noisy(
            x, generator(EVAL_SEED, "eval-timesteps"), generator(EVAL_SEED, "eval-noise")
        )
        total = torch.zeros((), device=x.device, dtype=torch.float64)
        for start in range(0, len(x), batch_size):
            part = slice(start, start + batch_size)
            total += (model(xt[part], t[part]) - eps[part]).square().flatten(1).mean(1).sum().double()
        metrics = {"loss": total.item() / len(x)}
        if self.sample_count and data.split == "test":
            metrics["frechet_distance"] = self.frechet_distance(model, x, batch_size)
        model.train(was_training)
        return metrics

    @torch.no_grad()
    def sample(
        self, model: nn.Module, shape: Sequence[int], count: int, batch_size: int = 500
    ) -> torch.Tensor:
        """``count`` images of ``shape`` (C, H, W) in [0, 1] generated by DDIM (η = 0,
        ``sampling_steps`` steps) from the fixed sampling noise: the first ``count`` of it, whatever
        ``count``, for every run alike."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        noise = torch.randn((count, *shape), generator=generator(EVAL_SEED, "sample-noise"))
        images = [
            self.diffusion.ddim_sample(model, part.to(device), self.sampling_steps)
            for part in noise.split(batch_size)
        ]
        model.train(was_training)
        return ((torch.cat(images) + 1) / 2).clamp(0, 1)

    def frechet_distance(self, model: nn.Module, real: torch.Tensor, batch_size: int) -> float:
        """The Fréchet distance between ``sample_count`` generated images and ``real`` ones."""
        if self._classifier is None:
            self._classifier = load_classifier(self.config.dataset, self.config.dataset_params)
        fake = self.sample(model, real.shape[1:], self.sample_count, batch_size)
        features = self._classifier.features
        return frechet_distance(features(fake), features(real))
