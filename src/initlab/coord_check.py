"""muP's coordinate check across widths: the same model at widths w₁ < w₂ < ..., a few training steps
each, the ``coord-check`` probe on every module, and a computed verdict per module.

As microsoft/mup's ``get_coord_data`` (``mup/coord_check.py``; Yang et al. 2022, "Tensor Programs V",
arXiv 2203.03466, §D.1): for each seed and width, build and initialize the model, take ``steps``
optimizer steps on the same batches, record ``x.abs().mean()`` of every module's output on the forward
pass of each (steps 0, 1, 2: muP's t = 1, 2, 3), average over seeds, and compare widths
(:func:`initlab.probes.coord_verdict.coord_verdicts`). Two entry points:

* :func:`coord_check` from a :class:`~initlab.config.RunConfig`: each width is the run
  ``config`` with ``model_params[width_param] = w`` set up as ``initlab run`` sets it up (init, data,
  batch order, optimizer and schedule), its first ``steps`` batches;
* :func:`coord_check_models` for any model: ``build(width, seed)``, your batches, your optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.frames import Tidy
from initlab.models.roles import find_head
from initlab.probes import CoordCheckProbe, run_probes
from initlab.probes.coord_verdict import CoordValues, CoordVerdict, coord_verdicts
from initlab.tasks import Task
from initlab.train import prepare_run

Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class CoordCheck(Tidy):
    """The rows of a coordinate check, ``(width, seed, step, module, abs_mean)``, and the readout's
    module name (the model's head) when it has one."""

    widths: tuple[int, ...]
    rows: tuple[tuple[int, int, int, str, float], ...]
    readout: str | None = None

    def values(self) -> CoordValues:
        """``{width: {(step, module): abs_mean averaged over seeds}}``."""
        sums: dict[int, dict[tuple[int, str], list[float]]] = {}
        for width, _, step, module, value in self.rows:
            sums.setdefault(width, {}).setdefault((step, module), []).append(value)
        return {w: {k: sum(v) / len(v) for k, v in by.items()} for w, by in sums.items()}

    def verdicts(self, tolerance: float = 1.2) -> list[CoordVerdict]:
        """Per module: stable in width at every step (ratios in (1/tolerance, tolerance)), see
        :func:`~initlab.probes.coord_verdict.coord_verdicts`."""
        return coord_verdicts(self.values(), tolerance=tolerance, readout=self.readout)

    def tidy_rows(self) -> list[dict[str, Any]]:
        keys = ("width", "seed", "step", "module", "abs_mean")
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


def readout_name(model: nn.Module) -> str | None:
    """The qualified name of the model's head (its readout), or None."""
    head = find_head(model)
    return next((n for n, m in model.named_modules() if m is head), None)


def _check_widths(widths: Iterable[int]) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(set(widths)) < 2 or any(w <= 0 for w in widths) or list(widths) != sorted(set(widths)):
        raise ConfigError(
            f"widths must be at least two distinct positive integers in increasing order, got {list(widths)}"
        )
    return widths


def _probe_run(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    config: RunConfig | None = None,
    task: Task | None = None,
) -> list[tuple[int, str, float]]:
    probe = CoordCheckProbe(first=len(batches), every=0)
    run_probes(model, [probe], batches, optimizer=optimizer, scheduler=scheduler, config=config, task=task)
    return [(r.step, r.layer, r.value) for r in probe.rows]


def coord_check_models(
    build: Callable[[int, int], nn.Module],
    widths: Iterable[int],
    batches: Batches,
    make_optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
    *,
    seeds: Sequence[int] = (0,),
) -> CoordCheck:
    """The coordinate check of ``build(width, seed)`` (an initialized model) at each width and seed,
    one optimizer step (``make_optimizer(params)``) per batch of ``batches``."""
    widths = _check_widths(widths)
    rows, readout = [], None
    for seed in seeds:
        for width in widths:
            model = build(width, seed)
            readout = readout_name(model)
            rows += [
                (width, seed, *row) for row in _probe_run(model, batches, make_optimizer(model.parameters()))
            ]
    return CoordCheck(widths, tuple(rows), readout)


def coord_check(
    config: RunConfig,
    widths: Iterable[int],
    *,
    width_param: str = "width",
    steps: int = 3,
    seeds: int = 1,
) -> CoordCheck:
    """The coordinate check of ``config``'s model at each width (``model_params[width_param]``), for
    ``seeds`` seeds (the config's seed and the next ones) and ``steps`` training steps, each run set
    up as ``initlab run`` sets it up."""
    widths = _check_widths(widths)
    if steps < 1 or seeds < 1:
        raise ConfigError(f"steps and seeds must be ≥ 1, got steps={steps}, seeds={seeds}")
    rows, readout = [], None
    for seed in range(config.seed, config.seed + seeds):
        for width in widths:
            params = {**config.model_params, width_param: width}
            setup = prepare_run(config.model_copy(update={"model_params": params, "seed": seed}))
            model, train_set, _, _ = setup.place()
            readout = readout_name(model)
            optimizer, scheduler = setup.optimizer(model.parameters())
            with setup.dropout_stream():
                batches = setup.first_batches(train_set, steps)
                recorded = _probe_run(model, batches, optimizer, scheduler, setup.config, setup.task)
            rows += [(width, seed, *row) for row in recorded]
    return CoordCheck(widths, tuple(rows), readout)
