"""One training step, the same wherever a model trains: the loop, the batched engine, the probe session.

A step is: the ``on_step_start`` event, forward, the task's loss, backward, ``on_after_backward``, the
optimizer's step, the schedule's step, ``on_step_end``. Writing it once keeps the three engines from
drifting apart (an event in another place, a loss reduced another way), so a probe sees the same
step inside a run and in ``initlab inspect``, and the batched engine computes what the loop does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from initlab.callbacks import Events

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss(outputs, targets)``: the batch's mean loss, one per model with a leading model dim."""


def train_step(
    forward: Callable[[Any], torch.Tensor],
    inputs: Any,
    targets: torch.Tensor,
    loss_fn: Loss,
    optimizer: torch.optim.Optimizer | None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    events: Events | None = None,
    step: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Take optimizer step ``step`` (0-based) on one batch; return its outputs and loss, detached.

    With leading model dims (S×B×...) the loss is each model's own mean, and backward differentiates
    their sum, which gives each model its own gradient when they share no parameters. Without an
    ``optimizer`` the step stops after ``on_after_backward`` (gradients are the caller's to clear):
    a look at the gradients at the current weights, no update.
    """
    if events is not None:
        events.ctx.step, events.ctx.inputs, events.ctx.targets = step, inputs, targets
        events.fire("on_step_start")
    if optimizer is not None:
        optimizer.zero_grad(set_to_none=True)
    outputs = forward(inputs)
    loss = loss_fn(outputs, targets)
    loss.backward(torch.ones_like(loss))
    if events is not None:
        events.ctx.loss = loss
        events.fire("on_after_backward")
    if optimizer is not None:
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if events is not None:
            events.fire("on_step_end")
    return outputs.detach(), loss.detach()
