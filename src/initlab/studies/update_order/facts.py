"""What each stored run of the update-order study shows, read from its probe rows: the first step each
weight layer changes and gets a gradient, the gradient's size then, ranks, unit groups and dead units."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.report import StoredRun
from initlab.store import Store
from initlab.studies.update_order.grid import OPTIMIZERS, ZERO, expected_steps, mlp_layer_names
from initlab.train import build_initialized_model

PerStep = dict[str, dict[int, float]]
"""``{layer: {step: value}}``."""


@dataclass(frozen=True)
class RunFacts:
    """What one stored run's probe rows say, per weight layer from the input to the head."""

    run: StoredRun
    optimizer: str
    activation: str
    depth: int
    zero: bool
    """Zero weights with random biases (else ``pytorch-default``)."""
    first_change: list[int | None]
    first_grad: list[int | None]
    tensor_changes: dict[str, int | None]
    """First change of every parameter tensor, weights and biases (None: never)."""
    first_grad_size: list[float | None]
    """Largest |gradient element| at the layer's first step with a non-zero gradient (grad-dist)."""
    rank: PerStep
    effective_rank: PerStep
    largest_group: PerStep
    dead: PerStep

    @property
    def seed(self) -> int:
        return self.run.record.seed

    @property
    def layers(self) -> list[str]:
        return mlp_layer_names(self.depth)

    @property
    def exact(self) -> bool:
        return self.first_change == expected_steps(self.depth)

    @property
    def setting(self) -> tuple[str, str]:
        return self.optimizer, self.activation


def per_step(store: Store, run_id: str, probe: str, name: str) -> PerStep:
    table: PerStep = {}
    for _, r in store.probe_rows(run_id, probe, name=name):
        table.setdefault(r.layer, {})[r.step] = r.value
    return table


def run_facts(store: Store, run: StoredRun) -> RunFacts:
    config = run.record.config
    depth = config["model_params"]["depth"]
    layers = mlp_layer_names(depth)
    events = {
        (r.layer, r.name): int(r.value)
        for _, r in store.probe_rows(run.id, "update-order")
        if r.name in ("first_change_step", "first_grad_step")
    }
    tensors = {
        r.layer: None for _, r in store.probe_rows(run.id, "update-order", name="grad_norm") if r.step == 0
    }
    changes = {t: events.get((t, "first_change_step")) for t in tensors}
    first_grad = [events.get((f"{layer}.weight", "first_grad_step")) for layer in layers]
    zeros = per_step(store, run.id, "grad-dist", "zero_fraction")
    low, high = per_step(store, run.id, "grad-dist", "min"), per_step(store, run.id, "grad-dist", "max")
    sizes: list[float | None] = []
    for layer in layers:
        moving = sorted(s for s, z in zeros.get(layer, {}).items() if z < 1.0)
        sizes.append(max(abs(low[layer][moving[0]]), abs(high[layer][moving[0]])) if moving else None)
    return RunFacts(
        run=run,
        optimizer=config["optimizer"],
        activation=config["model_params"]["activation"],
        depth=depth,
        zero=config["init"] == ZERO["init"],
        first_change=[changes.get(f"{layer}.weight") for layer in layers],
        first_grad=first_grad,
        tensor_changes=changes,
        first_grad_size=sizes,
        rank=per_step(store, run.id, "symmetry", "rank"),
        effective_rank=per_step(store, run.id, "symmetry", "effective_rank"),
        largest_group=per_step(store, run.id, "symmetry", "largest_group"),
        dead=per_step(store, run.id, "signal", "dead_fraction"),
    )


@cache
def _data_shape(dataset: str) -> tuple[tuple[int, ...], int]:
    data = load_dataset(dataset, "train")
    return data.input_shape, data.num_classes


def negative_bias_fractions(config: dict[str, Any]) -> dict[str, float]:
    """Per hidden activation (``act{i}``), the fraction of layer i's biases ≤ 0 at init, re-derived from
    the stored config: the init is a function of the config and its seed alone (drawn on the CPU)."""
    run = RunConfig.model_validate(config)
    model = build_initialized_model(run, *_data_shape(run.dataset))
    return {
        f"act{i}": float((model.get_submodule(f"fc{i}").bias <= 0).float().mean())
        for i in range(1, run.model_params["depth"])
    }


@dataclass(frozen=True)
class LateLayer:
    """A weight layer that first changed later than step k (or never), and when its gradient came."""

    layer: str
    expected: int
    changed: int | None
    first_grad: int | None

    @property
    def silent(self) -> bool:
        """Its gradient was still an exact 0 at step k (no non-zero gradient by then)."""
        return self.first_grad is None or self.first_grad > self.expected


def late_layers(f: RunFacts) -> list[LateLayer]:
    """The weight layers of a zero-weight run that changed after their step k, input to head."""
    return [
        LateLayer(layer, want, got, grad)
        for layer, got, want, grad in zip(
            f.layers, f.first_change, expected_steps(f.depth), f.first_grad, strict=True
        )
        if got is None or got > want
    ]


def steps_text(steps: Sequence[int | None]) -> str:
    """Steps as ``"4 3 2 1 0"``, ``never`` for a layer that never changed."""
    return " ".join("never" if s is None else str(s) for s in steps)


def where(facts: Sequence[RunFacts], **fields: Any) -> list[RunFacts]:
    """The runs whose attributes have every ``field=value`` of ``fields``."""
    return [f for f in facts if all(getattr(f, k) == v for k, v in fields.items())]


def lowest_seed(facts: Sequence[RunFacts]) -> dict[tuple[Any, ...], RunFacts]:
    """The lowest-seed run of each (optimizer, activation, depth, zero)."""
    out: dict[tuple[Any, ...], RunFacts] = {}
    for f in sorted(facts, key=lambda f: f.seed, reverse=True):
        out[(f.optimizer, f.activation, f.depth, f.zero)] = f
    return out


#: An update is *representable* when lr·max|g| ≥ 2⁻¹⁰²: then every entry down to 2⁻²⁴ of the largest
#: (float32's relative precision, what the numerical rank can see) is a normal float32, not subnormal.
REPRESENTABLE = 2.0**-102
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class FirstUpdate:
    """A weight matrix right after its first update: its ranks then, and the update's size."""

    facts: RunFacts
    layer: str
    rank: float
    effective_rank: float
    size: float | None
    """The largest |entry| of the first update (None: its gradient was not recorded)."""

    @property
    def representable(self) -> bool:
        return self.size is not None and self.size >= REPRESENTABLE


def update_size(optimizer: str, lr: float, grad: float) -> float:
    """The largest |entry| of a first update whose largest |gradient entry| is ``grad``: SGD lr·g;
    Adam lr·ĝ/(√v̂+ε) = lr·g/(g+ε) at its first step (bias-corrected moments, ε = 1e-8)."""
    return lr * grad if optimizer == "sgd" else lr * grad / (grad + ADAM_EPS)


def first_updates(facts: Sequence[RunFacts]) -> list[FirstUpdate]:
    """Every zero-initialized weight matrix's rank at the step right after its first change."""
    out = []
    for f in where(facts, zero=True):
        lr = OPTIMIZERS[f.optimizer]
        for layer, step, grad, first_grad in zip(
            f.layers, f.first_change, f.first_grad_size, f.first_grad, strict=True
        ):
            rank = None if step is None else f.rank.get(layer, {}).get(step + 1)
            if rank is None:
                continue
            size = update_size(f.optimizer, lr, grad) if grad is not None and first_grad == step else None
            out.append(FirstUpdate(f, layer, rank, f.effective_rank[layer][step + 1], size))
    return out


def dead_rows(facts: Sequence[RunFacts]) -> list[dict[str, Any]]:
    """ReLU, zero weights: per hidden layer of every run, its negative-bias fraction at init (re-derived
    from the config) and its dead fraction at init, the least later, and at the last recorded step."""
    rows = []
    for f in where(facts, zero=True, activation="relu"):
        for layer, fraction in negative_bias_fractions(f.run.record.config).items():
            by_step = f.dead.get(layer, {})
            if 0 not in by_step:
                continue
            later = [v for s, v in sorted(by_step.items()) if s > 0]
            rows.append(
                {
                    "optimizer": f.optimizer,
                    "depth": f.depth,
                    "seed": f.seed,
                    "layer": layer,
                    "negative biases": fraction,
                    "dead at init": by_step[0],
                    "dead, least later": min(later, default=math.nan),
                    "last step": max(by_step),
                    "dead at last step": by_step[max(by_step)],
                }
            )
    return rows
