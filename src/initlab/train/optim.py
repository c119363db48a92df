"""Optimizers and learning-rate schedules named in a RunConfig."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from initlab.config import RunConfig


def make_optimizer(config: RunConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay), Adam or AdamW as the config says, with the fused kernel
    when ``fused_optimizer`` is set (otherwise torch's default implementation)."""
    fused = {"fused": True} if config.fused_optimizer else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
            **fused,
        )
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, **fused)


def total_steps(config: RunConfig, steps_per_epoch: int) -> int:
    """The optimizer steps the run takes: ``epochs · steps_per_epoch``, or ``max_steps`` if fewer."""
    steps = config.epochs * steps_per_epoch
    return steps if config.max_steps is None else min(steps, config.max_steps)


def lr_factor(config: RunConfig, step: int, steps_per_epoch: int) -> float:
    """The multiplier of the base learning rate at (0-based) optimizer ``step``.

    Linear warm-up over ``warmup_steps``, then ``constant`` (1), ``cosine`` (½(1 + cos(π·t/T)) over
    the run's steps after warm-up, :func:`total_steps`) or ``step`` (γ^⌊epoch/step_size⌋); times
    ``boost`` on the first ``boost_steps`` steps.
    """
    boost = config.boost if step < config.boost_steps else 1.0
    return boost * _schedule_factor(config, step, steps_per_epoch)


def _schedule_factor(config: RunConfig, step: int, steps_per_epoch: int) -> float:
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "cosine":
        total = max(1, total_steps(config, steps_per_epoch) - config.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - config.warmup_steps) / total)))
    if config.schedule == "step":
        return config.gamma ** ((step // steps_per_epoch) // config.step_size)
    return 1.0


def make_scheduler(
    config: RunConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler following :func:`lr_factor`."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(config, step, steps_per_epoch))
