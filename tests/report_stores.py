"""Stores of real runs for the report tests (built once per session by ``tests/report/conftest.py``).

Four conditions on synthetic blobs (an MLP of width 16, 2 epochs): ``pytorch-default``, ``zeros`` and
``zero-weight-random-bias`` with uniform biases over seeds 0-2, and ``zero-weight-random-bias`` with
normal biases over seeds 0-3, where seed 2 diverges (a NaN written into its weights at step 3) and
seed 3 fails (an exception at step 2). The first three conditions record a small probe (each weight's
norm over the first 5 steps). A second store sweeps the SGD learning rate, whose largest
value diverges on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from initlab.config import RunConfig, make_config
from initlab.records import ProbeRow
from initlab.store import Store
from initlab.train import Callback, TrainContext, load_splits, resolve_config, train

BASE = RunConfig(
    dataset="synthetic-blobs",
    dataset_params={"n": 600},
    model="mlp",
    model_params={"width": 16},
    epochs=2,
    batch_size=64,
    log_every=4,
)
INITS = [
    ("pytorch-default", {}),
    ("zeros", {}),
    ("zero-weight-random-bias", {"dist": "uniform"}),
]
SEEDS = [0, 1, 2]
DIVERGED_SEED, FAILED_SEED = 2, 3
LRS = [0.03, 0.3, 1e6]
PROBE, PROBE_STEPS = "weight-norm", 5


def config(**fields: object) -> RunConfig:
    """``BASE`` with ``fields`` changed, validated and resolved (scheme params filled, as in a real run)."""
    return resolve_config(make_config({**BASE.model_dump(), **fields}))


class PoisonWeights(Callback):
    """Writes NaN into the first weight after step ``at``: the next loss is NaN and the run diverges."""

    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.step == self.at:
            with torch.no_grad():
                next(ctx.model.parameters()).fill_(math.nan)


class WeightNorms(Callback):
    """A small real probe: each weight matrix's Frobenius norm after each of the first ``steps`` steps."""

    def __init__(self, steps: int = PROBE_STEPS):
        self.steps = steps

    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.step < self.steps:
            rows = [
                ProbeRow(ctx.step, name.removesuffix(".weight"), "weight_norm", p.detach().norm().item())
                for name, p in ctx.model.named_parameters()
                if name.endswith("weight")
            ]
            ctx.emit(PROBE, rows)


class Crash(Callback):
    """Raises at step ``at``: the run is stored as failed."""

    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.step == self.at:
            raise RuntimeError("simulated crash")


@dataclass(frozen=True)
class Stores:
    main: Path
    lr_sweep: Path


def build_stores(root: Path) -> Stores:
    """Train the runs of both stores into folder ``root`` (about 1 s)."""
    splits = load_splits(BASE)
    with Store(root / "main.db") as store:
        for init, params in INITS:
            for seed in SEEDS:
                train(config(init=init, init_params=params, seed=seed), sink=store, splits=splits,
                      callbacks=[WeightNorms()])  # fmt: skip
        normal = {"init": "zero-weight-random-bias", "init_params": {"dist": "normal"}}
        for seed in [0, 1, DIVERGED_SEED]:
            callbacks = [PoisonWeights(3)] if seed == DIVERGED_SEED else []
            train(config(**normal, seed=seed), sink=store, splits=splits, callbacks=callbacks)
        with pytest.raises(RuntimeError, match="simulated crash"):
            train(config(**normal, seed=FAILED_SEED), sink=store, splits=splits, callbacks=[Crash(2)])
    with Store(root / "lr.db") as store:
        for lr in LRS:
            for seed in [0, 1]:
                train(config(optimizer="sgd", lr=lr, seed=seed, epochs=1), sink=store, splits=splits)
    return Stores(root / "main.db", root / "lr.db")
