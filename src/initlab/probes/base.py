"""What every probe shares: a track schedule, tidy rows, and attach/record/detach as a training callback.

A probe is usable two ways (in the manner of Cockpit's quantities and muP's coord check):

* standalone, on any ``nn.Module``: ``probe.attach(model, inputs=batch)``, run your own forward and
  backward passes and optimizer steps, call ``probe.record(step)`` after each, read ``probe.rows``,
  then ``probe.detach()``;
* as an :class:`initlab.callbacks.Callback` passed to ``train(...)`` (or named in ``RunConfig.probes``):
  the probe attaches itself at the start of the run, records on the steps its schedule selects, sends
  its rows to the run's sink with ``ctx.emit`` and detaches at the end.

Step numbers follow one convention everywhere: *step s* is the model after ``s`` optimizer steps, and
the batch, activations and gradients of step ``s`` are those of the ``s``-th (0-based) optimizer
step, which turns state ``s`` into state ``s + 1``. A probe that is not on the schedule for a step
registers nothing and computes nothing for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

import torch
from pydantic import Field
from torch import nn

from initlab.callbacks import STEP_EVENTS, Callback, TrainContext
from initlab.frames import Tidy, row_dict
from initlab.probes.table import select
from initlab.probes.trace import first_samples
from initlab.records import ProbeRow

First = Annotated[int, Field(ge=0)]
"""Record every step below this one."""
Every = Annotated[int, Field(ge=0)]
"""Then record every this many steps (0: never again)."""

#: How many samples of the first batch a probe keeps when it needs example inputs (trace, Jacobian).
EXAMPLE_SIZE = 8


@dataclass(frozen=True)
class Schedule:
    """Which steps a probe records: every step below ``first``, then every ``every``-th step.

    ``Schedule(10, 100)`` records steps 0–9, 100, 200, ...; ``Schedule(1, 0)`` only step 0.
    """

    first: int
    every: int

    def __call__(self, step: int) -> bool:
        return step < self.first or (self.every > 0 and step % self.every == 0)

    @property
    def never(self) -> bool:
        """True when no step is on the schedule (``first`` and ``every`` both 0)."""
        return self.first == 0 and self.every == 0


def relative_change(change: float, scale: float) -> float:
    """``change / scale``; a change of something that was 0 is infinite, no change is 0."""
    if scale == 0.0:
        return math.inf if change > 0 else 0.0
    return change / scale


class Probe(Tidy, Callback):
    """Base class of the instruments: rows, schedule, emit, and the callback plumbing.

    Subclasses set ``name`` and implement :meth:`record` (and, when they hook the model,
    :meth:`attach`/:meth:`detach`). ``rows`` holds every row recorded so far, in order;
    ``to_frame()`` gives them as a pandas DataFrame, and Jupyter shows them as a table.
    """

    name: ClassVar[str]
    task: ClassVar[str | None] = None
    """The task of the runs this probe watches (:mod:`initlab.tasks`; None: any run)."""
    keyless_defaults: ClassVar[tuple[str, ...]] = ()
    """Params added after runs were stored: left out of the run key at their defaults."""

    def __init__(self, *, first: int, every: int):
        self.schedule = Schedule(first, every)
        self.rows: list[ProbeRow] = []
        self.model: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.inputs: torch.Tensor | None = None
        self._ctx: TrainContext | None = None

    # -- standalone API --------------------------------------------------------------------------

    def attach(
        self,
        model: nn.Module,
        *,
        inputs: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Self:
        """Watch ``model``. ``inputs`` is an example batch for probes that need one (the first
        :data:`EXAMPLE_SIZE` samples are kept); ``optimizer`` lets a probe read its state."""
        self.model, self.optimizer = model, optimizer
        if inputs is not None:
            self.inputs = first_samples(inputs, EXAMPLE_SIZE)
        return self

    def record(self, step: int) -> list[ProbeRow]:
        """Measure the model now, label the rows with ``step``, keep and return them."""
        raise NotImplementedError

    def detach(self) -> None:
        """Stop watching: remove every hook and drop references to the model."""
        self.model = self.optimizer = self.inputs = None

    def tidy_rows(self) -> list[dict[str, Any]]:
        return [row_dict(row) for row in self.rows]

    def select(
        self, name: str | None = None, layer: str | None = None, step: int | None = None
    ) -> list[ProbeRow]:
        """This probe's rows, filtered by quantity, layer and step."""
        return select(self.rows, name=name, layer=layer, step=step)

    # -- helpers for subclasses -------------------------------------------------------------------

    def _keep(self, rows: Sequence[ProbeRow]) -> list[ProbeRow]:
        """Keep ``rows`` and, inside a run, send them to its sink."""
        rows = list(rows)
        self.rows.extend(rows)
        if self._ctx is not None and rows:
            self._ctx.emit(self.name, rows)
        return rows

    def _attached(self) -> nn.Module:
        if self.model is None:
            raise RuntimeError(f"probe {self.name!r} is not attached: call attach(model) first")
        return self.model

    def _take_inputs(self, ctx: TrainContext) -> None:
        """Keep the first samples of the run's current batch as the example inputs, once."""
        if self.inputs is None and ctx.inputs is not None:
            self.inputs = first_samples(ctx.inputs, EXAMPLE_SIZE)

    # -- callback plumbing ------------------------------------------------------------------------

    def wants(self, event: str) -> bool:
        """A probe whose schedule never fires needs no per-step event: it is not even called."""
        return event not in STEP_EVENTS or not self.schedule.never

    def on_train_start(self, ctx: TrainContext) -> None:
        self._ctx = ctx
        self.attach(ctx.model, optimizer=ctx.optimizer)

    def on_train_end(self, ctx: TrainContext, end: object) -> None:
        self.detach()
        self._ctx = None
