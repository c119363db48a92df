"""Run probes over a few batches outside ``train``: what ``initlab inspect`` and notebooks use.

``run_probes`` calls the probes' callback events in the order the training loop does (start, then per
batch: step start, forward, cross-entropy, backward, after-backward, optimizer step, step end), so a
probe behaves the same here and inside a run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from initlab.config import RunConfig
from initlab.probes.base import Probe
from initlab.records import ProbeRow, RunEnd
from initlab.train.callbacks import TrainContext


def run_probes(
    model: nn.Module,
    probes: Sequence[Probe],
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    config: RunConfig | None = None,
) -> None:
    """Drive ``probes`` over ``batches`` (inputs, class targets), one optimizer step per batch.

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
    started = time.time()
    model.train()
    for probe in probes:
        probe.on_train_start(ctx)
    for step, (x, y) in enumerate(batches if optimizer is not None else batches[:1]):
        ctx.step, ctx.inputs, ctx.targets = step, x, y
        for probe in probes:
            probe.on_step_start(ctx)
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        ctx.loss = loss
        for probe in probes:
            probe.on_after_backward(ctx)
        if optimizer is None:
            break
        optimizer.step()
        for probe in probes:
            probe.on_step_end(ctx)
    end = RunEnd("finished", time.time(), time.time() - started)
    for probe in probes:
        probe.on_train_end(ctx, end)


def _discard(probe: str, rows: Sequence[ProbeRow]) -> None:
    """The session keeps rows in the probes themselves."""
