"""Run probes over a few batches outside ``train``: what ``initlab inspect`` and notebooks use.

``run_probes`` takes its steps with the training loop's own step function
(:func:`initlab.step.train_step`): the same events in the same order (start, then per batch: step
start, forward, the task's loss, backward, after-backward, optimizer and schedule step, step end), so a
probe behaves the same here and inside a run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

import torch
from torch import nn

from initlab.callbacks import Events, TrainContext
from initlab.config import RunConfig
from initlab.probes.base import Probe
from initlab.records import ProbeRow, RunEnd
from initlab.step import train_step
from initlab.tasks import Batch, Classify, Task


def run_probes(
    model: nn.Module,
    probes: Sequence[Probe],
    batches: Sequence[Batch],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    config: RunConfig | None = None,
    task: Task | None = None,
) -> None:
    """Drive ``probes`` over ``batches`` (inputs, targets), one optimizer step per batch
    (and one step of ``scheduler``, if given), with ``task``'s forward and loss (by default
    classification: class targets, cross-entropy).

    Without an ``optimizer`` only the first batch's forward and backward pass runs: the probes see
    the model at init (step 0) and no step is taken. The probes are detached at the end; their rows
    stay in ``probe.rows``.
    """
    config = config if config is not None else RunConfig()
    task = task if task is not None else Classify(config)
    device = next(model.parameters()).device
    ctx = TrainContext(
        run_id="probe-session",
        config=config,
        model=model,
        optimizer=optimizer,  # type: ignore[arg-type]
        device=device,
        steps_per_epoch=len(batches),
        emit=_discard,
    )
    events = Events(probes, ctx)
    started = time.time()
    model.train()
    events.fire("on_train_start")
    if optimizer is None:
        model.zero_grad(set_to_none=True)
    forward = functools.partial(task.forward, model)
    for step, (x, y) in enumerate(batches if optimizer is not None else batches[:1]):
        train_step(forward, x, y, task.loss, optimizer, scheduler, events, step)
    events.fire("on_train_end", RunEnd("finished", time.time(), time.time() - started))


def _discard(probe: str, rows: Sequence[ProbeRow]) -> None:
    """The session keeps rows in the probes themselves."""
