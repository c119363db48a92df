"""The ``update-order`` probe: in what order the parameter tensors start to move.

For every parameter tensor it finds three steps (0-based optimizer steps):

* ``first_grad_step``: the first step whose gradient has an element ≠ 0;
* ``first_change_step``: the first step that changes an element of the tensor at all (|Δ| > 0 exactly);
* ``first_rel_change_step``: the first step with ‖Δ‖/‖w‖ > ``rel_threshold`` (∞ when w was 0).

The first two can differ: a gradient can be too small to change a float32 value (Fixup's branch
multiplier, 1.0, gets gradients near 1e-8 at first, below half an ulp of 1.0 times the learning rate),
which is why both are reported. Each is emitted once, as a row at the step it happens whose value is
that step; a tensor that never moves has no such row. On the steps of its schedule the probe also
emits ``grad_norm``, ``delta_norm`` (‖Δ‖ of that step) and ``update_ratio`` (‖Δ‖/‖w‖ before it)
per tensor: the data of the update-order chart.

In a run it looks at every step until every tensor has had all three events, and after that only on
its schedule; a step it does not look at costs nothing (a tensor that never moves, e.g. behind a
dead path, keeps it looking every step). Cost of a watched step, per tensor: a copy into a
preallocated snapshot, the change computed in place, and the norms of the weight, the change and the
gradient (largest magnitudes only while an event is pending and a norm is 0): five passes, about
0.35–0.45 ms per step on the MNIST MLP (784-500-10) on one CPU thread, where a training step takes
4.5–5 ms (``benchmarks/probe_overhead.py``). Standalone, ``record(step)`` (after the optimizer step)
compares the parameters with their values at ``attach`` or at the previous record.
"""

from __future__ import annotations

import math
from typing import Annotated, Self

import torch
from pydantic import Field
from torch import nn

from initlab.callbacks import TrainContext
from initlab.probes.base import Every, First, Probe, relative_change
from initlab.probes.registry import register_probe
from initlab.records import ProbeRow

EVENTS = ("first_grad_step", "first_change_step", "first_rel_change_step")


def largest_magnitude(t: torch.Tensor) -> float:
    """max |t| in one pass (NaN if t holds one; 0 for an empty tensor)."""
    if not t.numel():
        return 0.0
    low, high = torch.aminmax(t.detach())
    return max(-float(low), float(high)) if not torch.isnan(low + high) else math.nan


@register_probe
class UpdateOrderProbe(Probe):
    """The first step each parameter tensor gets a non-zero gradient, changes, and changes noticeably.

    Event rows ``first_grad_step``, ``first_change_step``, ``first_rel_change_step`` (value: the step),
    and per scheduled step ``grad_norm``, ``delta_norm``, ``update_ratio``; ``layer`` is the parameter's
    name. ``rel_threshold``: the ‖Δ‖/‖w‖ above which a change counts as noticeable (default 1e-6, far
    above float32 rounding, far below any real step).
    """

    name = "update-order"

    def __init__(
        self,
        *,
        first: First = 10,
        every: Every = 50,
        rel_threshold: Annotated[float, Field(gt=0)] = 1e-6,
    ):
        super().__init__(first=first, every=every)
        self.rel_threshold = rel_threshold
        self.events: dict[str, dict[str, int]] = {}
        """``{param: {event: step}}`` of the events seen so far."""
        self._params: dict[str, nn.Parameter] = {}
        self._unseen = 0
        """How many (parameter, event) pairs have not happened yet."""
        self._buffers: dict[str, torch.Tensor] = {}
        """One preallocated snapshot buffer per parameter."""
        self._before: dict[str, torch.Tensor] = {}
        """The buffers snapshotted for the step being watched (empty: none)."""

    def attach(
        self,
        model: nn.Module,
        *,
        inputs: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Self:
        super().attach(model, inputs=inputs, optimizer=optimizer)
        self._params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.events = {n: {} for n in self._params}
        self._unseen = len(EVENTS) * len(self._params)
        self._buffers = {n: torch.empty_like(p) for n, p in self._params.items()}
        self._snapshot(self._params)
        return self

    def detach(self) -> None:
        super().detach()
        self._params, self._before, self._buffers = {}, {}, {}

    @property
    def pending(self) -> list[str]:
        """Parameters that have not had every event yet."""
        return [n for n, seen in self.events.items() if len(seen) < len(EVENTS)]

    def summary(self) -> dict[str, dict[str, int | None]]:
        """``{param: {event: step or None}}`` for every parameter, in the model's order."""
        return {n: {e: seen.get(e) for e in EVENTS} for n, seen in self.events.items()}

    def record(self, step: int) -> list[ProbeRow]:
        """Compare the parameters now (after optimizer step ``step``) with their snapshot, then take a
        new snapshot."""
        self._attached()
        rows = self._compare(step, per_step=True)
        self._snapshot(self._params)
        return rows

    def _compare(self, step: int, per_step: bool) -> list[ProbeRow]:
        """Event rows (and with ``per_step`` the norm rows) of the snapshotted parameters. Each
        quantity is computed only when a row or a pending event needs it; the snapshot buffers are
        overwritten with the change."""
        rows: list[ProbeRow] = []
        for name, before in self._before.items():
            param, seen = self._params[name], self.events[name]
            grad = param.grad
            grad_norm = float(torch.linalg.vector_norm(grad)) if per_step and grad is not None else 0.0
            # a norm can underflow to 0: then the largest magnitude tells (a NaN counts as non-zero)
            pending_grad = "first_grad_step" not in seen and grad is not None
            if pending_grad and (grad_norm != 0.0 or largest_magnitude(grad) != 0.0):
                self._event(rows, step, name, "first_grad_step")
            weight_norm = float(torch.linalg.vector_norm(before))
            delta = before.sub_(param.detach())  # −Δ: the same norm and largest magnitude as Δ
            delta_norm = float(torch.linalg.vector_norm(delta))
            change = delta_norm if delta_norm != 0.0 else largest_magnitude(delta)
            if change != 0.0 and "first_change_step" not in seen:
                self._event(rows, step, name, "first_change_step")
            ratio = relative_change(change, weight_norm)
            if (ratio > self.rel_threshold or math.isnan(ratio)) and "first_rel_change_step" not in seen:
                self._event(rows, step, name, "first_rel_change_step")
            if per_step:
                rows += [
                    ProbeRow(step, name, "grad_norm", grad_norm),
                    ProbeRow(step, name, "delta_norm", delta_norm),
                    ProbeRow(step, name, "update_ratio", ratio),
                ]
        return self._keep(rows)

    def _event(self, rows: list[ProbeRow], step: int, name: str, event: str) -> None:
        self.events[name][event] = step
        self._unseen -= 1
        rows.append(ProbeRow(step, name, event, float(step)))

    def _snapshot(self, params: dict[str, nn.Parameter]) -> None:
        """Copy ``params`` into their buffers: the values a step is compared with."""
        self._before = {n: self._buffers[n].copy_(p.detach()) for n, p in params.items()}

    # -- callback: watch a step only when scheduled or while some tensor has not moved -------------

    def wants(self, event: str) -> bool:
        """Every event: the first-step events are found whatever the schedule."""
        return True

    def on_step_start(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step):
            self._snapshot(self._params)
        elif self._unseen:
            self._snapshot({n: self._params[n] for n in self.pending})
        else:
            self._before = {}

    def on_step_end(self, ctx: TrainContext) -> None:
        if self._before:
            self._compare(ctx.step, per_step=self.schedule(ctx.step))
            self._before = {}
