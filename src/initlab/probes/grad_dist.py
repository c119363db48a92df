"""The ``grad-dist`` probe: the true distribution of each weight gradient, per layer per step.

Per Linear/Conv weight gradient: the exact quantiles min, 1%, 25%, 50%, 75%, 99%, max (linear
interpolation between order statistics, as ``numpy.quantile``'s default), the L2 norm, and the
fraction of elements that are exactly 0. The seed study plotted TensorBoard histogram bucket
edges, from which only "zero or not" can be read; these are the order statistics themselves, in the
spirit of Karpathy's makemore part 3 gradient histograms and Cockpit's gradient instruments.

Exact quantiles need every element compared with something. On the CPU,
:func:`initlab.probes.selection.order_statistics` brackets each wanted order statistic from a small
sorted sample and proves it with a few vectorized comparison passes (about four per quantile, plus the
minimum, maximum and the counts of negative and zero elements), the same numbers as a full selection;
on CUDA a sort. On the MNIST MLP (784-500-10), one CPU thread, a record takes about 1.2–1.8 ms,
0.3–0.4 of its 4.5–5 ms training step, where ``numpy.partition`` took 7 ms
(``benchmarks/probe_overhead.py``); those passes over the 392,000-element first-layer gradient are
the floor of an exact answer. Hence the schedule: every step for the first ``first`` steps, then
every ``every`` steps.

**Sampled quantiles** (``sample=k``): the interior quantiles (1% to 99%) of a gradient with more than
``k`` elements are those of ``k`` elements drawn uniformly with replacement (seeded by the step and the
layer, so a rerun draws the same), while min, max, norm and the zero fraction stay exact. Drawing with
replacement makes the sample i.i.d. from the gradient's empirical distribution F, so the
Dvoretzky–Kiefer–Wolfowitz inequality with Massart's constant (Massart 1990, *Ann. Probab.* 18(3))
bounds the sample's empirical CDF G: P(sup|G − F| > ε) ≤ 2·exp(−2kε²). With probability ≥ 1 − δ the
value reported for quantile q therefore lies between the exact quantiles at q − ε' and q + ε',
ε' = sqrt(ln(2/δ)/(2k)) + 1/k (the 1/k: the interpolation between neighbouring sample order
statistics), i.e. its rank in the full gradient is within ±ε'·n of q·n (:func:`quantile_rank_error`;
k = 16,384, δ = 10⁻³: ε' = 0.0153). On the MNIST MLP (one CPU thread, shared machine) this takes a
record from about 2.0 ms to 1.0 ms, most of what is left being the sort of the sample and the three
exact passes (``benchmarks/probe_overhead.py``).
``sample=0`` (the default) keeps every quantile exact; on CUDA they are exact whatever ``sample``
(a sort of the whole gradient is cheap there).
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import torch
from pydantic import Field

from initlab.callbacks import TrainContext
from initlab.models.roles import weight_layers
from initlab.probes.base import Every, First, Probe
from initlab.probes.registry import register_probe
from initlab.probes.selection import order_statistics
from initlab.records import ProbeRow

QUANTILES = (0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0)
QUANTILE_NAMES = ("min", "p01", "p25", "p50", "p75", "p99", "max")
_SAMPLE_SEED = 20261130
#: The failure probability δ the documented bound of the sampled quantiles is stated for.
DELTA = 1e-3


def quantile_rank_error(k: int, delta: float = DELTA) -> float:
    """ε' = sqrt(ln(2/δ)/(2k)) + 1/k: with probability ≥ 1 − δ a quantile q from ``k`` elements drawn
    with replacement lies between the exact quantiles at q − ε' and q + ε' (DKW with Massart's constant,
    see the module docstring)."""
    return math.sqrt(math.log(2 / delta) / (2 * k)) + 1 / k


def sampled_quantiles(
    x: torch.Tensor, k: int, rng: np.random.Generator, qs: tuple[float, ...] = QUANTILES
) -> list[float]:
    """The quantiles ``qs`` of ``x``: 0 and 1 (min and max) exactly, the others those of ``k`` elements
    drawn with ``rng`` uniformly with replacement (``numpy.quantile``'s linear interpolation), within
    :func:`quantile_rank_error` of the exact ones in rank. Exact when ``x`` has at most ``k`` elements or
    is on CUDA."""
    flat = x.detach().flatten()
    n = flat.numel()
    if flat.is_cuda or n <= k:
        return exact_quantiles(flat, qs)
    values = flat.numpy()
    sample = np.sort(values[rng.integers(0, n, k)]).astype(np.float64)
    low, high = (float(v) for v in torch.aminmax(flat))
    out = []
    for q in qs:
        pos = q * (k - 1)
        a = math.floor(pos)
        b, t = min(a + 1, k - 1), pos - a
        out.append(low if q == 0.0 else high if q == 1.0 else float(sample[a] + (sample[b] - sample[a]) * t))
    return out


def exact_quantiles(
    x: torch.Tensor, qs: tuple[float, ...] = QUANTILES, zeros: int | None = None
) -> list[float]:
    """The quantiles ``qs`` of all elements of ``x``, exactly: order statistics at positions
    q·(n−1), linearly interpolated with ``numpy.quantile``'s formula (method "linear"). ``zeros``: the
    number of exact zeros in ``x``, when the caller has counted them already."""
    flat = x.detach().flatten()
    n = flat.numel()
    pos = np.asarray(qs, dtype=np.float64) * (n - 1)
    lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
    kth = np.unique(np.concatenate([lo, hi]))
    if flat.is_cuda:
        ordered = torch.sort(flat).values[torch.as_tensor(kth, device=flat.device)].double().cpu().numpy()
    else:
        ordered = order_statistics(flat.cpu().numpy(), kth, zeros).astype(np.float64)
    value = dict(zip(kth.tolist(), ordered.tolist(), strict=True))
    out = []
    for p, a, b in zip(pos, lo, hi, strict=True):
        t, va, vb = p - a, value[a], value[b]
        diff = vb - va
        out.append(float(vb - diff * (1 - t) if t >= 0.5 else va + diff * t))
    return out


def count_zeros(x: torch.Tensor) -> int:
    """The number of elements of ``x`` that are exactly 0 (one vectorized pass)."""
    if x.is_cuda:
        return int((x == 0).sum())
    return int(np.count_nonzero(x.detach().cpu().numpy() == 0))


@register_probe
class GradDistProbe(Probe):
    """Exact quantiles, L2 norm and fraction of exact zeros of every weight gradient.

    Rows per Linear/Conv layer: ``min``, ``p01``, ``p25``, ``p50``, ``p75``, ``p99``, ``max``, ``norm``,
    ``zero_fraction`` of its weight's gradient. Recorded after the backward pass of each scheduled
    step (standalone: ``record(step)`` after your ``loss.backward()``). ``sample``: 0 (default) for
    exact quantiles; k > 0 for the interior quantiles from k elements drawn at random, within
    ±(sqrt(ln(2/δ)/(2k)) + 1/k) in rank with probability ≥ 1 − δ (the module docstring derives it).
    """

    name = "grad-dist"
    keyless_defaults = ("sample",)

    def __init__(self, *, first: First = 10, every: Every = 50, sample: Annotated[int, Field(ge=0)] = 0):
        super().__init__(first=first, every=every)
        self.sample = sample

    def record(self, step: int) -> list[ProbeRow]:
        rows: list[ProbeRow] = []
        for index, (name, module) in enumerate(weight_layers(self._attached())):
            grad = module.weight.grad
            if grad is None:
                continue
            zeros = count_zeros(grad)
            if self.sample:
                rng = np.random.default_rng([_SAMPLE_SEED, step, index])
                quantiles = sampled_quantiles(grad, self.sample, rng)
            else:
                quantiles = exact_quantiles(grad, zeros=zeros)
            values = dict(zip(QUANTILE_NAMES, quantiles, strict=True))
            values["norm"] = float(torch.linalg.vector_norm(grad))
            values["zero_fraction"] = zeros / grad.numel()
            rows += [ProbeRow(step, name, k, v) for k, v in values.items()]
        return self._keep(rows)

    def on_after_backward(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step):
            self.record(ctx.step)
