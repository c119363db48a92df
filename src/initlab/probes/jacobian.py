"""The ``jacobian`` probe: the spectrum of the input-output Jacobian at init.

For each sample x of a batch, J(x) = ∂f(x)/∂x is the m×n Jacobian of the model's m outputs with
respect to its n inputs. Dynamical isometry (Saxe et al. 2014, arXiv 1312.6120; Pennington, Schoenholz
& Ganguli 2017, arXiv 1711.04735) asks that its singular values σ concentrate near 1: the mean squared
singular value ⟨σ²⟩ = ‖J‖_F²/min(m, n) says whether gradients vanish (≪ 1) or explode (≫ 1) on
average, and the spread (std of σ², largest and smallest σ) whether they do so unevenly.

J is computed row by row, one vector-Jacobian product per output (``torch.autograd.grad`` with
respect to the input only: the parameters' gradients are untouched), in eval mode so that samples are
independent (dropout off, BatchNorm on its running statistics). When m > ``max_outputs``, J is
sketched with ``projections`` random orthonormal output directions U (m×k): ⟨σ²⟩ is estimated without
bias from (m/k)·‖UᵀJ‖_F², and the spread from the singular values of √(m/k)·UᵀJ (approximate).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from initlab.callbacks import TrainContext
from initlab.errors import ConfigError
from initlab.probes.base import EXAMPLE_SIZE, Every, First, Probe
from initlab.probes.registry import register_probe
from initlab.probes.trace import preserved
from initlab.records import ProbeRow


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every module in eval mode, and each back in its own mode on exit."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for module, training in modes.items():
            module.train(training)


def input_output_jacobian(
    model: nn.Module, x: torch.Tensor, *, max_outputs: int, projections: int, seed: int
) -> tuple[torch.Tensor, int]:
    """Rows of each sample's Jacobian, (N, m, n), or of its sketch √(m/k)·UᵀJ, (N, k, n), when the
    model has m > ``max_outputs`` outputs; and m. Computed in eval mode; the model is left as it was."""
    if not x.is_floating_point():
        raise ConfigError(
            f"the jacobian probe differentiates with respect to real inputs; these are {x.dtype} (token ids)"
        )
    with eval_mode(model), preserved(model), torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        out = model(x).flatten(1)
        m = out.shape[1]
        if m <= max_outputs:
            directions, scale = torch.eye(m), 1.0
        else:
            gen = torch.Generator().manual_seed(seed)
            gaussian = torch.randn(m, projections, generator=gen, dtype=torch.float64)
            directions, scale = torch.linalg.qr(gaussian).Q.T, math.sqrt(m / projections)
        rows = []
        for d in directions.to(out.device, out.dtype):
            (grad,) = torch.autograd.grad((out * d).sum(), x, retain_graph=True)
            rows.append(grad.flatten(1))
    return torch.stack(rows, dim=1).double() * scale, m


@register_probe
class JacobianProbe(Probe):
    """Singular values of the input-output Jacobian on a batch: their mean square and their spread.

    Rows (layer ``model``): ``mean_sq_sv`` (⟨σ²⟩ over the samples' singular values), ``std_sq_sv``,
    ``max_sv``, ``min_sv``. ``samples``: how many samples of the batch (at most 8); outputs beyond
    ``max_outputs`` are sketched with ``projections`` random directions. By default only at step 0.
    """

    name = "jacobian"
    task = "classify"  # the output differentiated with respect to one input tensor

    def __init__(
        self,
        *,
        first: First = 1,
        every: Every = 0,
        samples: Annotated[int, Field(ge=1, le=EXAMPLE_SIZE)] = EXAMPLE_SIZE,
        max_outputs: Annotated[int, Field(ge=1)] = 64,
        projections: Annotated[int, Field(ge=1)] = 32,
        seed: int = 0,
    ):
        super().__init__(first=first, every=every)
        self.samples, self.max_outputs, self.projections, self.seed = samples, max_outputs, projections, seed

    def singular_values(self) -> tuple[torch.Tensor, float]:
        """The Jacobian's singular values per sample (N, k) and ⟨σ²⟩ (exact, or unbiased when sketched)."""
        model = self._attached()
        if self.inputs is None:
            raise RuntimeError("the jacobian probe needs a batch: attach(model, inputs=batch)")
        if isinstance(self.inputs, tuple):
            raise ConfigError(
                "the jacobian probe differentiates the output with respect to one input tensor; this model "
                f"takes {len(self.inputs)} inputs (a denoiser's x_t and t): use it on a classifier"
            )
        x = self.inputs[: self.samples]
        rows, m = input_output_jacobian(
            model, x, max_outputs=self.max_outputs, projections=self.projections, seed=self.seed
        )
        mean_sq = float(rows.square().sum(dim=(1, 2)).mean()) / min(m, x[0].numel())
        return torch.linalg.svdvals(rows), mean_sq

    def record(self, step: int) -> list[ProbeRow]:
        sv, mean_sq = self.singular_values()
        sq = sv.square()
        values = {
            "mean_sq_sv": mean_sq,
            "std_sq_sv": float(sq.std()) if sq.numel() > 1 else 0.0,
            "max_sv": float(sv.max()),
            "min_sv": float(sv.min()),
        }
        return self._keep([ProbeRow(step, "model", k, v) for k, v in values.items()])

    def on_step_start(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step):
            self._take_inputs(ctx)
            self.record(ctx.step)
