"""One training step, the same wherever a model trains: the loop, the batched engine, the probe session.

A step is: the ``on_step_start`` event, forward, cross-entropy, backward, ``on_after_backward``, the
optimizer's step, the schedule's step, ``on_step_end``. Writing it once keeps the three engines from
drifting apart (an event in another place, a loss reduced another way), so a probe sees the same
step inside a run and in ``initlab inspect``, and the batched engine computes what the loop does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from initlab.callbacks import Events


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the batch: a scalar for B×classes logits; for S×B×classes logits (S
    models at once, each on its own batch) one mean per model, shape S."""
    if logits.dim() == 2:
        return F.cross_entropy(logits, targets)
    per_sample = F.cross_entropy(logits.flatten(0, -2), targets.flatten(), reduction="none")
    return per_sample.view(targets.shape).mean(-1)


def train_step(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    optimizer: torch.optim.Optimizer | None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    events: Events | None = None,
    step: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Take optimizer step ``step`` (0-based) on one batch; return its logits and loss, detached.

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
    logits = forward(inputs)
    loss = cross_entropy(logits, targets)
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
    return logits.detach(), loss.detach()
