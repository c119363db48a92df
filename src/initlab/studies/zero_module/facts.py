"""What the store says about each zero-module condition: symmetry and ranks of the zeroed layers and of
the layers that feed them, the update order against the prediction, losses, Fréchet distances and
the stored samples.

Every number comes from the stored metrics and probe rows. The model is rebuilt (uninitialized) from
each run's config only to name its layers by role: which layers ``zero_module`` zeroes, which feed
them, and on which step each parameter should first get a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.models import build_model, find_head, residual_branches
from initlab.models.unet import ResBlock
from initlab.report import Condition, StoredRun
from initlab.store import Store
from initlab.tasks import Denoise

#: ``{step: {layer: {quantity: value}}}``: one run's stored symmetry rows.
SymmetryRows = dict[int, dict[str, dict[str, float]]]


@dataclass(frozen=True)
class Layers:
    """The U-Net's layers by role (qualified module names) and each parameter's predicted first
    gradient step under ``zero-module``."""

    zeroed: tuple[str, ...]
    """Each residual branch's last layer, then the output conv (the head)."""
    feeding: tuple[str, ...]
    """Each ResBlock's first conv (``in_layers``): the channels that reach its zeroed conv."""
    weights: tuple[str, ...]
    """Every weight layer's weight parameter, in forward order."""
    predicted: dict[str, int] = field(hash=False)
    """``{parameter: step}``: 0 for the head; 1 for the zeroed layers and the main stream (the first
    conv, down/upsampling, skip convs, the output norm); 2 inside the branches and the time embedding."""


def predicted_steps(model: nn.Module) -> dict[str, int]:
    """The first-gradient step of each parameter under ``zero-module`` (see :class:`Layers`).

    At step 0 only the head sees a non-zero upstream gradient; every other gradient passes through a
    zero weight. After one update the head passes gradient to the main stream, and each zeroed layer,
    which reads non-zero inputs, gets its own; a branch's inside and the time embedding (read only by
    branches) wait until the zeroed layer after them has moved, one step later.
    """
    head = find_head(model)
    inside: dict[int, int] = {}
    for branch in residual_branches(model):
        skip = getattr(branch.block, "skip_connection", None)
        skipped = {id(p) for p in skip.parameters()} if skip is not None else set()
        for p in branch.block.parameters():
            if id(p) not in skipped:
                inside[id(p)] = 2
        for p in branch.last.parameters():
            inside[id(p)] = 1
    time_embed = {id(p) for p in getattr(model, "time_embed", nn.Identity()).parameters()}
    steps = {}
    for name, p in model.named_parameters():
        if head is not None and any(p is q for q in head.parameters()):
            steps[name] = 0
        elif id(p) in time_embed:
            steps[name] = 2
        else:
            steps[name] = inside.get(id(p), 1)
    return steps


@cache
def _shape(dataset: str) -> tuple[int, ...]:
    return load_dataset(dataset, "test").input_shape


def layers_of(config: dict[str, Any]) -> Layers:
    """The roles of the config's U-Net, built (uninitialized) from its name and params."""
    model = build_model(config["model"], input_shape=_shape(config["dataset"]), **config["model_params"])
    names = {id(m): name for name, m in model.named_modules()}
    branches = residual_branches(model)
    zeroed = [names[id(b.last)] for b in branches] + [names[id(find_head(model))]]
    feeding = [names[id(b.layers[0])] for b in branches if isinstance(b.block, ResBlock)]
    weights = [
        f"{name}.weight"
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Linear)
    ]
    return Layers(tuple(zeroed), tuple(feeding), tuple(weights), predicted_steps(model))


class _Zero(nn.Module):
    """The predictor of an exactly zero output."""

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


@cache
def _zero_loss(config_json: str) -> float:
    config = RunConfig.model_validate_json(config_json)
    test = load_dataset(config.dataset, "test", **config.dataset_params)
    task = Denoise(config.model_copy(update={"task_params": {**config.task_params, "sample_count": 0}}))
    return task.evaluate(_Zero(), test, config.eval_batch_size)["loss"]


def zero_output_loss(config: dict[str, Any]) -> float:
    """The evaluation loss of a model whose output is exactly 0, on the run's fixed noisy test images
    (the same computation the run's evaluation makes): what a zero-output init scores at step 0."""
    return _zero_loss(RunConfig.model_validate(config).model_dump_json())


def symmetry_rows(store: Store, run: StoredRun) -> SymmetryRows:
    out: SymmetryRows = {}
    for _, row in store.probe_rows(run.id, "symmetry"):
        out.setdefault(row.step, {}).setdefault(row.layer, {})[row.name] = row.value
    return out


def first_steps(store: Store, run: StoredRun, event: str) -> dict[str, int]:
    return {row.layer: int(row.value) for _, row in store.probe_rows(run.id, "update-order", name=event)}


def sample_images(store: Store, run: StoredRun, shape: tuple[int, ...]) -> torch.Tensor | None:
    """The run's last stored samples as N × C × H × W grey levels in [0, 1] (None: none stored)."""
    rows = [row for _, row in store.probe_rows(run.id, "samples")]
    if not rows:
        return None
    last = max(r.step for r in rows)
    pixels: dict[int, dict[int, float]] = {}
    for r in rows:
        if r.step == last:
            pixels.setdefault(int(r.layer.split("/")[1]), {})[int(r.name.split("/")[1])] = r.value
    images = [[row[j] for j in sorted(row)] for _, row in sorted(pixels.items())]
    return torch.tensor(images, dtype=torch.float64).view(len(images), *shape) / 255


@dataclass(frozen=True)
class RunFacts:
    """One run's facts."""

    seed: int
    steps: int
    symmetry: SymmetryRows
    first_grad: dict[str, int]
    first_change: dict[str, int]
    init_loss: float | None
    zero_loss: float
    loss: float | None
    frechet: float | None
    loss_curve: dict[int, float]
    frechet_curve: dict[int, float]
    samples: torch.Tensor | None


@dataclass(frozen=True)
class Facts:
    """A condition (runs differing only in their seed): its name, layers and per-run facts."""

    name: str
    condition: Condition
    layers: Layers
    runs: tuple[RunFacts, ...]

    @classmethod
    def of(cls, store: Store, name: str, condition: Condition) -> Facts:
        config = condition.runs[0].record.config
        layers = layers_of(config)
        shape = _shape(config["dataset"])
        runs = []
        for run in sorted(condition.with_status("finished"), key=lambda r: r.record.seed):
            loss_curve = run.series("test_loss", x="step")
            runs.append(
                RunFacts(
                    seed=run.record.seed,
                    steps=max(loss_curve, default=0),
                    symmetry=symmetry_rows(store, run),
                    first_grad=first_steps(store, run, "first_grad_step"),
                    first_change=first_steps(store, run, "first_change_step"),
                    init_loss=loss_curve.get(0),
                    zero_loss=zero_output_loss(run.record.config),
                    loss=run.final("test_loss"),
                    frechet=run.final("test_frechet_distance"),
                    loss_curve=loss_curve,
                    frechet_curve=run.series("test_frechet_distance", x="step"),
                    samples=sample_images(store, run, shape),
                )
            )
        return cls(name, condition, layers, tuple(runs))

    def values(self, what: str) -> list[float]:
        """The finished runs' final ``loss`` or ``frechet`` values."""
        return [v for r in self.runs if (v := getattr(r, what)) is not None]
