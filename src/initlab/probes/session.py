"""Run probes over a few batches outside ``train``: what ``initlab inspect`` and notebooks use.

``run_probes`` takes its steps with the training loop's own step function
(:func:`initlab.step.train_step`): the same events in the same order (start, then per batch: step
start, forward, cross-entropy, backward, after-backward, optimizer and schedule step, step end), so a
probe behaves the same here and inside a run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import nn

from initlab.callbacks import Events, TrainContext
from initlab.config import RunConfig
from initlab.probes.base import Probe
from initlab.records import ProbeRow, RunEnd
from initlab.step import train_step


def run_probes(
    model: nn.Module,
    probes: Sequence[Probe],
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    config: RunConfig | None = None,
) -> None:
    """Drive ``probes`` over ``batches`` (inputs, class targets), one optimizer step per batch
    (and one step of ``scheduler``, if given).

    Without an ``optimizer`` only the first batch's forward and backward pass runs: the probes see
    the model at init (step 0) and no step is taken. The probes are detached at the end; their rows
    stay in ``probe.rows``.
    """
    device = next(model.parameters()).device
    ctx = TrainContext(
        run_id="probe-session",
        config=config if config is not None else RunConfig(),
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
    for step, (x, y) in enumerate(batches if optimizer is not None else batches[:1]):
        train_step(model, x, y, optimizer, scheduler, events, step)
    events.fire("on_train_end", RunEnd("finished", time.time(), time.time() - started))


def _discard(probe: str, rows: Sequence[ProbeRow]) -> None:
    """The session keeps rows in the probes themselves."""
