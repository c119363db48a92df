"""The ``coord-check`` probe: the typical size of every module's output coordinates, per step.

muP's coordinate check (Yang et al. 2022, "Tensor Programs V", arXiv 2203.03466, §D.1 and Fig. 5;
microsoft/mup ``mup/coord_check.py``) trains the same model at several widths for a few steps and
plots, for every module, the mean absolute value of its output's coordinates, ``x.abs().mean()`` (the
``l1`` of muP's ``FDICT``), against width: under a parametrization that is stable in width the curves
are flat; one that blows up (standard parametrization's readout under Adam) grows as a power of the
width. This probe records that number for one model (row ``abs_mean`` per module, layer = the
module's qualified name; the root module is left out: its output is the last module's) on the batch
of each scheduled step, muP's t = 1, 2, 3 being steps 0, 1, 2 here. The comparison across widths, its
verdict and figure, are :mod:`initlab.coord_check`'s.

In a run, forward hooks are registered only on scheduled steps and removed after the backward pass
(one ``abs().mean()`` per module output on those steps, read back after the pass; nothing on other
steps); other probes' own forward passes are skipped. On the MNIST MLP (one CPU thread) it adds
0.5 ms to a 5.7 ms step, a ratio of 1.08 when it records every step
(``benchmarks/probe_overhead.py``). Standalone, ``attach`` hooks at once and ``record(step)`` reports
the last forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import torch
from torch import nn

from initlab.callbacks import TrainContext
from initlab.probes.base import Every, First, Probe
from initlab.probes.registry import register_probe
from initlab.probes.trace import is_probing
from initlab.records import ProbeRow


@register_probe
class CoordCheckProbe(Probe):
    """``abs_mean`` = mean |coordinate| of every module's output (muP's coord check ``l1``), on the
    scheduled steps' forward passes (default: steps 0, 1, 2, muP's t = 1..3)."""

    name = "coord-check"

    def __init__(self, *, first: First = 3, every: Every = 0):
        super().__init__(first=first, every=every)
        self._handles: list[Any] = []
        self._captured: dict[str, torch.Tensor] = {}

    def attach(
        self,
        model: nn.Module,
        *,
        inputs: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Self:
        super().attach(model, inputs=inputs, optimizer=optimizer)
        if self._ctx is None:
            self._arm()
        return self

    def detach(self) -> None:
        self._disarm()
        super().detach()

    def record(self, step: int) -> list[ProbeRow]:
        rows = [ProbeRow(step, name, "abs_mean", float(value)) for name, value in self._captured.items()]
        self._captured = {}
        return self._keep(rows)

    def _arm(self) -> None:
        for name, module in self._attached().named_modules():
            if name:
                self._handles.append(module.register_forward_hook(self._hook(name)))

    def _disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if is_probing() or not isinstance(output, torch.Tensor) or not output.is_floating_point():
                return
            with torch.no_grad():
                self._captured[name] = output.detach().abs().float().mean()

        return hook

    def on_step_start(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step):
            self._arm()

    def on_after_backward(self, ctx: TrainContext) -> None:
        if self._handles:
            self._disarm()
            self.record(ctx.step)
