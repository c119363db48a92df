"""The ``output-change`` probe: how much the model's output moves when its parameters move.

Liu et al. (2020, "Understanding the Difficulty of Training Transformers", Admin, arXiv 2004.08249,
§4 and Thm. 2) explain post-LN's instability by *amplification*: for the same parameter change, the
output change Var[F(x, W) − F(x, W*)] of an N-layer post-LN transformer grows as O(N), of a pre-LN one
as O(log N). This probe measures E_x‖F(x, W) − F(x, W + δ)‖² on a batch for two δ:

* a random perturbation of fixed relative size r: for every parameter tensor W_p, δ_p = r·‖W_p‖·g/‖g‖
  with g standard Gaussian (a tensor that is 0 is not perturbed), drawn from the probe's own
  generator on the model's device, seeded from ``seed`` (default: the run's seed) and the step, never
  from torch's global one: ``perturbation_change``. For small r it is r²·E‖J_W δ̂‖²: quadratic in r;
* the optimizer's actual update of the step (W before against W after it): ``update_change``.

Rows (layer ``model``): ``output_sq`` = E_x‖F(x, W)‖², ``perturbation_change``,
``perturbation_change_relative`` (over ``output_sq``), ``update_change``, ``update_change_relative``;
each ‖·‖² sums over all of one sample's outputs (a language model's B×T×V logits: T·V numbers per
sample) and E_x averages over the ``samples`` first samples of the step's batch (with
``batch="first"``, of the first recorded step's batch at every step). With ``per_layer``,
also ``perturbation_change`` and its relative form per layer group
(:func:`initlab.probes.depth.layer_groups`: one residual block, an embedding, the head), perturbing
that group's parameters only: which layers the output is most sensitive to.

The forward passes run in eval mode (no dropout; BatchNorm on its running statistics), without
gradients, marked as a probe's own (other probes' hooks skip them), with the global random state and
every buffer put back, and the parameters restored bit for bit from a copy, so a run with this probe
computes exactly the numbers it computes without it. Cost of a scheduled step: three forward passes
of ``samples`` inputs (before, perturbed, after; one more per group with ``per_layer``), one copy of
the parameters and one Gaussian draw per parameter; nothing on the steps off its schedule. On the
MNIST MLP (784-500-10, one CPU thread, 5.7 ms a step) that is +4.5 ms per recorded step (1.4 ms of it
the draw), a ratio of 1.8 when it records every step, 2.1 with ``per_layer``; on its default
schedule (steps 0–2, then every 50th) the cost spreads to a few percent (``benchmarks/probe_overhead.py``).
Standalone, ``record(step)`` measures the perturbation at the current weights and the update as the
change of the outputs since ``attach`` or the previous ``record``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal, Self

import torch
from pydantic import Field
from torch import nn

from initlab.callbacks import TrainContext
from initlab.probes.base import Every, First, Probe, relative_change
from initlab.probes.depth import layer_groups
from initlab.probes.jacobian import eval_mode
from initlab.probes.registry import register_probe
from initlab.probes.trace import call_model, first_samples, preserved
from initlab.records import ProbeRow


def mean_sq(a: torch.Tensor) -> float:
    """E over samples (dim 0) of ‖a‖², summed over each sample's elements, in float64."""
    return float(a.double().flatten(1).square().sum(1).mean())


def squared_change(a: torch.Tensor, b: torch.Tensor) -> float:
    """E over samples (dim 0) of ‖a − b‖², in float64."""
    return mean_sq(a.double() - b.double())


def relative_perturbation(
    params: Iterable[tuple[str, nn.Parameter]], size: float, gen: torch.Generator
) -> dict[str, torch.Tensor]:
    """``{name: δ}`` with δ = size·‖W‖·g/‖g‖ for each parameter W, g ~ N(0, I) drawn from ``gen`` (on
    ``gen``'s device, in the parameters' dtype and order), so ‖δ‖ = size·‖W‖ up to rounding."""
    deltas = {}
    for name, p in params:
        g = torch.randn(p.shape, generator=gen, device=gen.device, dtype=p.dtype).to(p.device)
        scale = size * float(torch.linalg.vector_norm(p.detach())) / float(torch.linalg.vector_norm(g))
        deltas[name] = g.mul_(scale)
    return deltas


@register_probe
class OutputChangeProbe(Probe):
    """E‖F(x, W) − F(x, W + δ)‖² for a random δ of relative size ``relative_size`` and for the step's
    own update (Admin's amplification); see the module docstring. ``samples``: how many samples of the
    step's batch; ``seed``: the perturbations' seed (None: the run's); ``per_layer``: also perturb each
    layer group alone; ``batch``: measure on each recorded step's own batch (``step``) or on the first
    recorded step's batch throughout (``first``: the same inputs at every step)."""

    name = "output-change"

    def __init__(
        self,
        *,
        first: First = 3,
        every: Every = 50,
        relative_size: Annotated[float, Field(gt=0)] = 1e-3,
        samples: Annotated[int, Field(ge=1)] = 32,
        seed: int | None = None,
        per_layer: bool = False,
        batch: Literal["step", "first"] = "step",
    ):
        super().__init__(first=first, every=every)
        self.relative_size, self.samples, self.seed, self.per_layer = relative_size, samples, seed, per_layer
        self.batch = batch
        self._before: torch.Tensor | None = None
        """The outputs before the update being measured (None: none is)."""

    def attach(
        self,
        model: nn.Module,
        *,
        inputs: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Self:
        """Watch ``model``; ``inputs`` (its first ``samples``) are the batch every record uses."""
        super().attach(model, optimizer=optimizer)
        if inputs is not None:
            self.inputs = first_samples(inputs, self.samples)
            self._before = self.outputs()
        return self

    def detach(self) -> None:
        super().detach()
        self._before = None

    def outputs(self) -> torch.Tensor:
        """F(x, W) on the probe's batch: eval mode, no gradient, buffers and random state kept."""
        model = self._attached()
        if self.inputs is None:
            raise RuntimeError("the output-change probe needs a batch: attach(model, inputs=batch)")
        with eval_mode(model), preserved(model), torch.no_grad():
            return call_model(model, self.inputs).detach()

    def record(self, step: int) -> list[ProbeRow]:
        now = self.outputs()
        rows = self._perturbation_rows(step, now)
        if self._before is not None:
            rows += self._update_rows(step, now)
        self._before = now
        return rows

    # -- measurements ---------------------------------------------------------------------------------

    def _generator(self, step: int) -> torch.Generator:
        """The perturbation's generator of ``step``, on the model's device (its own stream, never torch's
        global one)."""
        seed = self.seed
        if seed is None:
            seed = self._ctx.config.seed if self._ctx is not None else 0
        device = next(self._attached().parameters()).device
        return torch.Generator(device=device).manual_seed((seed * 1_000_003 + step) % 2**63)

    def _perturbed_change(
        self, params: list[tuple[str, nn.Parameter]], deltas: dict[str, torch.Tensor], base: torch.Tensor
    ) -> float:
        """E‖F(x, W) − F(x, W + δ)‖² with ``params`` moved by their δ, then restored bit for bit."""
        saved = [p.detach().clone() for _, p in params]
        try:
            with torch.no_grad():
                for name, p in params:
                    p.add_(deltas[name])
            return squared_change(self.outputs(), base)
        finally:
            with torch.no_grad():
                for (_, p), copy in zip(params, saved, strict=True):
                    p.copy_(copy)

    def _perturbation_rows(self, step: int, base: torch.Tensor) -> list[ProbeRow]:
        model = self._attached()
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        deltas = relative_perturbation(params, self.relative_size, self._generator(step))
        output_sq = mean_sq(base)
        change = self._perturbed_change(params, deltas, base)
        rows = [
            ProbeRow(step, "model", "output_sq", output_sq),
            ProbeRow(step, "model", "perturbation_change", change),
            ProbeRow(step, "model", "perturbation_change_relative", relative_change(change, output_sq)),
        ]
        if self.per_layer:
            names = {id(p): n for n, p in params}
            for group in layer_groups(model):
                own = [(names[id(p)], p) for _, p in group.params]
                part = self._perturbed_change(own, deltas, base)
                rows += [
                    ProbeRow(step, group.name, "perturbation_change", part),
                    ProbeRow(
                        step, group.name, "perturbation_change_relative", relative_change(part, output_sq)
                    ),
                ]
        return self._keep(rows)

    def _update_rows(self, step: int, after: torch.Tensor) -> list[ProbeRow]:
        assert self._before is not None
        change = squared_change(after, self._before)
        output_sq = mean_sq(self._before)
        return self._keep(
            [
                ProbeRow(step, "model", "update_change", change),
                ProbeRow(step, "model", "update_change_relative", relative_change(change, output_sq)),
            ]
        )

    # -- callback: before the step (outputs and perturbation), after it (the update) ------------------

    def on_step_start(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step) and ctx.inputs is not None:
            if self.batch == "step" or self.inputs is None:
                self.inputs = first_samples(ctx.inputs, self.samples)
            self._before = self.outputs()
            self._perturbation_rows(ctx.step, self._before)

    def on_step_end(self, ctx: TrainContext) -> None:
        if self._before is not None:
            self._update_rows(ctx.step, self.outputs())
            self._before = None
