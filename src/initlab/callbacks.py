"""Hooks into training, for instruments and progress displays.

A callback overrides only the events it needs; a run calls an event only on the callbacks that
override it and want it for this run (:meth:`Callback.wants`), so an absent instrument, or one that is
switched off, costs nothing. This module sits at the bottom of the package, beside the records: the
training loop, the probe session and the probes themselves all build on it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.records import ProbeRow, RunEnd

EVENTS = (
    "on_train_start",
    "on_step_start",
    "on_after_backward",
    "on_step_end",
    "on_epoch_end",
    "on_train_end",
)
STEP_EVENTS = ("on_step_start", "on_after_backward", "on_step_end")
"""The events called on every training step."""


@dataclass
class TrainContext:
    """What a callback may look at: the run, its model and optimizer, and the current batch."""

    run_id: str
    config: RunConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    steps_per_epoch: int
    emit: Callable[[str, Sequence[ProbeRow]], None]
    """``emit(probe_name, rows)`` sends probe rows to the run's sink."""
    epoch: int = 0
    step: int = 0
    """0-based index of the current optimizer step (the number of steps taken before it)."""
    inputs: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    epoch_metrics: dict[str, float] = field(default_factory=dict)


class Callback:
    """Base class: every event is a no-op unless overridden."""

    def wants(self, event: str) -> bool:
        """Whether the loop should call ``event`` (one of :data:`EVENTS`) on this callback in this run.
        Asked once, when the run starts; a callback that would do nothing on every call of an event
        (an instrument whose schedule never fires) answers False and is left out of it."""
        return True

    def on_train_start(self, ctx: TrainContext) -> None:
        """After init, before the first step (the model is on its device)."""

    def on_step_start(self, ctx: TrainContext) -> None:
        """Before the forward pass of step ``ctx.step``; ``ctx.inputs``/``ctx.targets`` hold the batch."""

    def on_after_backward(self, ctx: TrainContext) -> None:
        """Gradients of step ``ctx.step`` are in ``.grad``; the optimizer has not stepped yet."""

    def on_step_end(self, ctx: TrainContext) -> None:
        """After the optimizer's step ``ctx.step``."""

    def on_epoch_end(self, ctx: TrainContext) -> None:
        """After the evaluation of epoch ``ctx.epoch``; ``ctx.epoch_metrics`` holds its metrics."""

    def on_train_end(self, ctx: TrainContext, end: RunEnd) -> None:
        """Once the run has ended, however it ended (not called when it raised)."""


def dispatch(callbacks: Sequence[Callback], event: str) -> list[Callable[..., None]]:
    """The bound methods of ``callbacks`` that override ``event`` and want it."""
    base = getattr(Callback, event)
    return [
        getattr(cb, event) for cb in callbacks if getattr(type(cb), event) is not base and cb.wants(event)
    ]


class Events:
    """A run's callbacks with each event resolved once (:func:`dispatch`), and the context they get."""

    def __init__(self, callbacks: Sequence[Callback], ctx: TrainContext):
        self.ctx = ctx
        self.hooks = {event: dispatch(callbacks, event) for event in EVENTS}

    def fire(self, event: str, *args: Any) -> None:
        """Call ``event`` on the callbacks that handle it, with the context and ``args``."""
        for hook in self.hooks[event]:
            hook(self.ctx, *args)
