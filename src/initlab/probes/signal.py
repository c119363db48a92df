"""The ``signal`` probe: how signals propagate through depth, forward and backward.

Forward hooks on every weight layer (its output: pre-activations) and every activation module (its
output: activations) measure, on the batch of each scheduled step:

* ``mean``, ``std`` and ``mean_sq`` — E[a²] is the quantity LeCun, Xavier and He init are designed to
  keep constant through depth (He et al. 2015, arXiv 1502.01852);
* ``input_signal``: for each unit (feature, or channel-position of a conv map) the std of its value
  across the samples of the batch, averaged over units. It measures how much the layer still depends
  on its input: biases can hold the plain std up while this collapses to 0;
* ``saturated_fraction`` (Tanh: |a| > ``saturation``; Sigmoid: a < 1 − s or a > s) and
  ``dead_fraction`` (ReLU/ReLU6: units — features, or conv channels — that are 0 for every sample and
  position of the batch), as in Karpathy's makemore part 3;
* ``grad_std``: the std of the loss's gradient with respect to the layer's output (a tensor hook on
  that output, never a full backward module hook, which breaks in-place activations);
* with ``quantiles=True``, the distribution of the output and of that gradient over the batch, as
  exact quantiles (``min``, ``p01``, ``p25``, ``p50``, ``p75``, ``p99``, ``max`` and ``grad_min`` ...
  ``grad_max``, :func:`initlab.probes.grad_dist.exact_quantiles`): Karpathy's per-layer activation
  and gradient histograms (makemore part 3) as order statistics, which stay comparable across layers
  whose scales differ by orders of magnitude and draw as bands through depth. Off by default; on, it
  reads each hooked output back to the CPU (one selection per output per scheduled step).

Per weight layer it also reports ``weight_std`` and the update:data ratio ``update_ratio`` =
std(Δw)/std(w) of the step (∞ from a zero weight; Karpathy's rule of thumb: about 1e-3). Per residual
block — any module that adds two signals computed from the input in its forward, found from a traced
pass — it reports the NF-ResNet signal-propagation metrics (Brock, De & Smith 2021, arXiv
2101.08692) of the block's output: ``avg_channel_sq_mean`` (mean over channels of the squared channel
mean) and ``avg_channel_var`` (mean over channels of the channel variance), channels being dim 1.

In a run, hooks are registered only for the steps on the schedule and removed after them (a few
reductions per hooked output on those steps; nothing on the others). Standalone,
``attach`` registers them at once; ``record(step)`` reports the last forward/backward pass and the
change of the weights since ``attach`` or the previous record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Self

import torch
from pydantic import Field
from torch import nn

from initlab.callbacks import TrainContext
from initlab.models.roles import WEIGHT_LAYER_TYPES, weight_layers
from initlab.probes.base import Every, First, Probe, relative_change
from initlab.probes.grad_dist import QUANTILE_NAMES, exact_quantiles
from initlab.probes.registry import register_probe
from initlab.probes.trace import first_samples, is_probing, residual_blocks, trace_model
from initlab.records import ProbeRow

ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softsign,
    nn.Tanhshrink, nn.LogSigmoid,
)  # fmt: skip
DYING: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6)


def activation_stats(a: torch.Tensor, module: nn.Module, saturation: float) -> dict[str, torch.Tensor]:
    """The forward statistics of one output (0-d tensors, read later to avoid a device sync)."""
    a = a.detach().float()
    stats = {"mean": a.mean(), "std": a.std(), "mean_sq": a.square().mean()}
    if a.dim() < 2:
        return stats
    if a.shape[0] > 1:
        stats["input_signal"] = a.flatten(1).std(dim=0).mean()
    if isinstance(module, nn.Tanh):
        stats["saturated_fraction"] = (a.abs() > saturation).float().mean()
    elif isinstance(module, nn.Sigmoid):
        stats["saturated_fraction"] = ((a > saturation) | (a < 1 - saturation)).float().mean()
    if isinstance(module, DYING):
        per_unit = a.transpose(0, 1).reshape(a.shape[1], -1)
        stats["dead_fraction"] = (per_unit == 0).all(dim=1).float().mean()
    return stats


def quantile_stats(a: torch.Tensor, prefix: str = "") -> dict[str, float]:
    """The exact quantiles of every element of ``a``, named ``<prefix>min`` ... ``<prefix>max``."""
    values = exact_quantiles(a.detach().float())
    return {f"{prefix}{name}": value for name, value in zip(QUANTILE_NAMES, values, strict=True)}


def channel_stats(a: torch.Tensor) -> dict[str, torch.Tensor]:
    """NF-ResNet signal metrics of a residual block's output: mean over channels (dim 1) of the
    squared channel mean and of the channel variance, each over the batch and positions."""
    per_channel = a.detach().float().transpose(0, 1).reshape(a.shape[1], -1)
    return {
        "avg_channel_sq_mean": per_channel.mean(dim=1).square().mean(),
        "avg_channel_var": per_channel.var(dim=1, unbiased=False).mean(),
    }


@register_probe
class SignalProbe(Probe):
    """Activation and gradient statistics per layer, update:data ratios and NF-ResNet block metrics.

    Rows per weight layer and activation module: ``mean``, ``std``, ``mean_sq``, ``input_signal``,
    ``grad_std``, (activations) ``saturated_fraction``/``dead_fraction``, (weight layers)
    ``weight_std`` and ``update_ratio``; per residual block ``avg_channel_sq_mean`` and
    ``avg_channel_var``. ``saturation``: the |a| above which a tanh (or sigmoid) unit counts as saturated.
    ``quantiles``: also the exact quantiles of each output (``min`` ... ``max``) and of its gradient
    (``grad_min`` ... ``grad_max``), the per-layer distributions.
    """

    name = "signal"

    def __init__(
        self,
        *,
        first: First = 1,
        every: Every = 50,
        saturation: Annotated[float, Field(gt=0, lt=1)] = 0.97,
        quantiles: bool = False,
    ):
        super().__init__(first=first, every=every)
        self.saturation = saturation
        self.quantiles = quantiles
        self._handles: list[Any] = []
        self._captured: dict[str, dict[str, torch.Tensor | float]] = {}
        self._blocks: list[str] | None = None
        self._before: dict[str, torch.Tensor] = {}

    def attach(
        self,
        model: nn.Module,
        *,
        inputs: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Self:
        """Watch ``model`` and hook it now; with ``inputs``, also find its residual blocks."""
        super().attach(model, inputs=inputs, optimizer=optimizer)
        self._blocks = None
        if self._ctx is None:
            self._arm()
        return self

    def detach(self) -> None:
        self._disarm()
        super().detach()
        self._before = {}

    def record(self, step: int) -> list[ProbeRow]:
        rows = self._activation_rows(step) + self._update_rows(step)
        self._before = self._weights()
        return rows

    # -- hooks ------------------------------------------------------------------------------------

    def _arm(self) -> None:
        model = self._attached()
        if self._blocks is None and self.inputs is not None:
            self._blocks = residual_blocks(trace_model(model, first_samples(self.inputs, 2)))
        modules = dict(model.named_modules())
        for name, module in modules.items():
            if isinstance(module, (*WEIGHT_LAYER_TYPES, *ACTIVATIONS)):
                self._handles.append(module.register_forward_hook(self._hook(name)))
        for name in self._blocks or []:
            self._handles.append(modules[name].register_forward_hook(self._block_hook(name)))
        self._before = self._weights()

    def _disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if is_probing() or not isinstance(output, torch.Tensor):
                return
            captured = self._captured.setdefault(name, {})
            with torch.no_grad():
                captured.update(activation_stats(output, module, self.saturation))
                if self.quantiles:
                    captured.update(quantile_stats(output))
            if output.requires_grad:
                output.register_hook(lambda grad: captured.update(self._grad_stats(grad)))

        return hook

    def _grad_stats(self, grad: torch.Tensor) -> dict[str, torch.Tensor | float]:
        stats: dict[str, torch.Tensor | float] = {"grad_std": grad.detach().float().std()}
        if self.quantiles:
            stats.update(quantile_stats(grad, "grad_"))
        return stats

    def _block_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if is_probing() or not isinstance(output, torch.Tensor) or output.dim() < 2:
                return
            with torch.no_grad():
                self._captured.setdefault(name, {}).update(channel_stats(output))

        return hook

    # -- rows ---------------------------------------------------------------------------------------

    def _weights(self) -> dict[str, torch.Tensor]:
        return {name: m.weight.detach().clone() for name, m in weight_layers(self._attached())}

    def _activation_rows(self, step: int) -> list[ProbeRow]:
        rows = [
            ProbeRow(step, layer, key, float(value))
            for layer, stats in self._captured.items()
            for key, value in stats.items()
        ]
        for name, before in self._before.items():
            rows.append(ProbeRow(step, name, "weight_std", float(before.float().std())))
        self._captured = {}
        return self._keep(rows)

    def _update_rows(self, step: int) -> list[ProbeRow]:
        rows = []
        for name, module in weight_layers(self._attached()):
            before = self._before.get(name)
            if before is None:
                continue
            delta_std = float((module.weight.detach() - before).float().std())
            weight_std = float(before.float().std())
            rows.append(ProbeRow(step, name, "update_ratio", relative_change(delta_std, weight_std)))
        return self._keep(rows)

    # -- callback: hooks only on scheduled steps -----------------------------------------------------

    def on_step_start(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step):
            self._take_inputs(ctx)
            self._arm()

    def on_after_backward(self, ctx: TrainContext) -> None:
        if self._handles:
            self._disarm()
            self._activation_rows(ctx.step)

    def on_step_end(self, ctx: TrainContext) -> None:
        if self._before:
            self._update_rows(ctx.step)
            self._before = {}
