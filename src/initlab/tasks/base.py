"""The :class:`Task` interface and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.data import Dataset
from initlab.errors import ConfigError

Batch = tuple[Any, torch.Tensor]
"""One training batch: the model's inputs (a tensor, or what :meth:`Task.forward` unpacks) and the
targets the loss compares its outputs with."""


class Task(ABC):
    """One run's task, built from its config (a task that draws random numbers of its own derives
    their generators from ``config.seed``).

    Subclasses set ``name`` and implement the methods below; ``forward`` calls ``model(inputs)``
    unless overridden.
    """

    name: ClassVar[str]

    def __init__(self, config: RunConfig):
        self.config = config

    @abstractmethod
    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        """Optimizer steps in one epoch over a training split of ``size`` samples."""

    @abstractmethod
    def batches(self, data: Dataset, batch_size: int, shuffle: torch.Generator) -> list[Batch]:
        """One epoch's training batches of ``data`` (on its device), in the order drawn from ``shuffle``."""

    def forward(self, model: nn.Module, inputs: Any) -> torch.Tensor:
        """The model's outputs on a batch's inputs."""
        return model(inputs)

    @abstractmethod
    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch: a scalar; with a leading model dim (S models at once, as the
        batched engine runs them), one mean per model, shape S."""

    @abstractmethod
    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch sums (over samples) of the training metrics besides the loss, on the device;
        each epoch records their sum over its batches divided by its sample count."""

    def throughput(self, targets: int, seconds: float) -> dict[str, float]:
        """Rates recorded with the training metrics of a stretch of training that predicted ``targets``
        target elements (labels, tokens) in ``seconds``; none by default."""
        return {}

    @abstractmethod
    def evaluate(self, model: nn.Module, data: Dataset, batch_size: int) -> dict[str, float]:
        """The metrics of ``model`` on ``data`` in eval mode, ``loss`` among them."""

    def classifiers(self) -> list[str]:
        """The datasets whose feature classifier (:mod:`initlab.tasks.frechet`) ``evaluate`` reads;
        ``prepare_run`` has each trained first. None by default."""
        return []


TASKS: dict[str, type[Task]] = {}
"""The tasks by name."""


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register a :class:`Task` under ``cls.name``."""
    TASKS[cls.name] = cls
    return cls


def task_for(config: RunConfig, model: nn.Module, data: Dataset) -> Task:
    """The task of a run: the one the model names in its ``initlab_task`` attribute (a denoiser
    learns to denoise whatever images it gets), else the one the dataset names in its ``task``
    attribute, else classification."""
    name = getattr(model, "initlab_task", None) or getattr(data, "task", "classify")
    if name not in TASKS:
        raise ConfigError(
            f"task {name!r} (of model {config.model!r}, dataset {config.dataset!r}) is unknown; "
            f"known: {', '.join(sorted(TASKS))}"
        )
    return TASKS[name](config)
