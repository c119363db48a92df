"""What the store says about each residual-zero condition: its hidden layers' symmetry at init, at the
end and at every record in between, its update order, and its final accuracies.

Everything here is read from the stored ``symmetry`` and ``update-order`` probe rows and the runs'
metrics; the claims, tables and prose of the study are computed from these facts alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from torch import nn

from initlab.data import load_dataset
from initlab.models import build_model
from initlab.models.roles import find_head, weight_layers
from initlab.report import Condition, StoredRun
from initlab.store import Store
from initlab.studies.verdicts import condition_values, mean_interval

#: ``{step: {layer: {quantity: value}}}``: one run's stored symmetry rows.
SymmetryRows = dict[int, dict[str, dict[str, float]]]


def setting_label(dataset: str, model: str) -> str:
    """A (dataset, model) setting as tables and file names show it: ``digits / resnet-cifar``."""
    return f"{dataset} / {model}"


@dataclass(frozen=True)
class Layers:
    """A model's weight layers by role: the head, the hidden ones, and which of those are convs."""

    hidden: tuple[str, ...]
    convs: tuple[str, ...]
    weights: tuple[str, ...]
    """The parameter names of every weight layer's weight (``<layer>.weight``)."""


@cache
def _data_shape(dataset: str) -> tuple[tuple[int, ...], int]:
    test = load_dataset(dataset, "test")
    return test.input_shape, test.num_classes


def layers_of(config: dict[str, Any]) -> Layers:
    """The weight layers of the config's model, built (uninitialized) from its name and params."""
    shape, classes = _data_shape(config["dataset"])
    model = build_model(config["model"], input_shape=shape, num_classes=classes, **config["model_params"])
    head = find_head(model)
    named = list(weight_layers(model))
    hidden = tuple(name for name, m in named if m is not head)
    convs = tuple(name for name, m in named if m is not head and isinstance(m, nn.Conv2d))
    return Layers(hidden, convs, tuple(f"{name}.weight" for name, _ in named))


def symmetry_rows(store: Store, run: StoredRun) -> SymmetryRows:
    """``{step: {layer: {quantity: value}}}`` of a run's stored ``symmetry`` rows."""
    out: SymmetryRows = {}
    for _, row in store.probe_rows(run.id, "symmetry"):
        out.setdefault(row.step, {}).setdefault(row.layer, {})[row.name] = row.value
    return out


def first_steps(store: Store, run: StoredRun, event: str) -> dict[str, int]:
    """``{parameter: step}`` of a run's stored ``update-order`` event (parameters without it left out)."""
    return {row.layer: int(row.value) for _, row in store.probe_rows(run.id, "update-order", name=event)}


@dataclass(frozen=True)
class RunSymmetry:
    """One run's symmetry facts about its hidden layers, at init (step 0) and at its last record."""

    last_step: int
    hidden: int
    grouped_at_init: int
    """Hidden layers with a group of ≥ 2 identical units at init."""
    permanent_at_init: int
    """Hidden layers with a permanent group at init."""
    whole_permanent_at_init: int
    """Hidden layers that are one permanent group of all their units at init."""
    whole_permanent_at_end: int
    largest_group_at_init: int
    largest_permanent_at_init: int
    rank_one_at_end: int
    """Hidden layers whose weight has numerical rank ≤ 1 at the last record."""
    max_rank_at_end: int

    @classmethod
    def of(cls, rows: SymmetryRows, layers: Layers) -> RunSymmetry | None:
        """The facts of a run's stored rows (None: no record at init)."""
        if 0 not in rows:
            return None
        last = max(rows)
        init, end = rows[0], rows[last]

        def whole(at: dict[str, dict[str, float]], layer: str) -> bool:
            values = at.get(layer, {})
            return values.get("permanent_largest_group", 0) == values.get("units", -1)

        hidden = [layer for layer in layers.hidden if layer in init]
        return cls(
            last_step=last,
            hidden=len(hidden),
            grouped_at_init=sum(init[layer]["largest_group"] > 1 for layer in hidden),
            permanent_at_init=sum(init[layer].get("permanent_largest_group", 0) > 1 for layer in hidden),
            whole_permanent_at_init=sum(whole(init, layer) for layer in hidden),
            whole_permanent_at_end=sum(whole(end, layer) for layer in hidden),
            largest_group_at_init=int(max(init[layer]["largest_group"] for layer in init)),
            largest_permanent_at_init=int(
                max(init[layer].get("permanent_largest_group", 0) for layer in init)
            ),
            rank_one_at_end=sum(end.get(layer, {}).get("rank", math.inf) <= 1 for layer in hidden),
            max_rank_at_end=int(max(end.get(layer, {}).get("rank", 0) for layer in hidden)),
        )


@dataclass(frozen=True)
class GroupHistory:
    """What became of one hidden layer's largest group of identical units over a run's records.

    The symmetry probe's verdict at init says whether a group is *permanent* (gradient descent can
    never separate it: :class:`initlab.probes.symmetry.SymmetryProbe`); this says what the records
    show: whether a group that is not permanent did separate, and when, and whether a permanent one
    stayed whole.
    """

    seed: int
    layer: str
    units: int
    permanent: int
    """The largest permanent group at init (1: none)."""
    steps: tuple[int, ...]
    """The recorded steps, from 0 (init) to the last record."""
    largest: tuple[int, ...]
    """The largest group of identical units at each recorded step."""
    distinct: tuple[int, ...]
    """The number of groups (a unit alone counts as one) at each recorded step."""
    rank_at_end: float
    """The weight's numerical rank at the last record (NaN: not recorded)."""

    @property
    def grouped(self) -> int:
        """The largest group of identical units at init."""
        return self.largest[0]

    @property
    def last_step(self) -> int:
        return self.steps[-1]

    @property
    def at_end(self) -> int:
        """The largest group of identical units at the last record."""
        return self.largest[-1]

    @property
    def separated_step(self) -> int | None:
        """The first recorded step with no two identical units (None: never)."""
        return next((s for s, g in zip(self.steps, self.largest, strict=True) if g == 1), None)

    @property
    def separated_at_once(self) -> bool:
        """Whether no two units are identical from the first record after init to the last."""
        return len(self.steps) > 1 and self.at_end == 1 and self.separated_step == self.steps[1]

    @property
    def split_step(self) -> int | None:
        """The first recorded step at which the largest group is smaller than at init (None: never)."""
        return next((s for s, g in zip(self.steps, self.largest, strict=True) if g < self.grouped), None)

    def groups_at(self, step: int) -> str:
        """The groups at a recorded step in words: ``480 + 20``, or ``3 groups, the largest of 12``."""
        i = self.steps.index(step)
        largest, distinct = self.largest[i], self.distinct[i]
        if distinct == 2:
            return f"{largest} + {self.units - largest}"
        return f"{distinct} groups, the largest of {largest}"

    @classmethod
    def of(cls, rows: SymmetryRows, layers: Layers, seed: int) -> list[GroupHistory]:
        """The history of every hidden layer that a run's rows record at init."""
        steps = tuple(sorted(rows))
        if not steps or steps[0] != 0:
            return []
        out = []
        for layer in layers.hidden:
            if layer not in rows[0]:
                continue
            at = [rows[s].get(layer, {}) for s in steps]
            kept = [(s, r) for s, r in zip(steps, at, strict=True) if "largest_group" in r]
            out.append(
                cls(
                    seed=seed,
                    layer=layer,
                    units=int(rows[0][layer]["units"]),
                    permanent=int(rows[0][layer].get("permanent_largest_group", 0)),
                    steps=tuple(s for s, _ in kept),
                    largest=tuple(int(r["largest_group"]) for _, r in kept),
                    distinct=tuple(int(r.get("distinct", r["units"])) for _, r in kept),
                    rank_at_end=rows[steps[-1]].get(layer, {}).get("rank", math.nan),
                )
            )
        return out


@dataclass(frozen=True)
class RunOrder:
    """One run's update order over its weight layers' weights."""

    weights: int
    latest_grad: int | None
    """The latest first non-zero-gradient step over the weights (None: some weight never got one)."""
    latest_change: int | None
    never_grad: int

    @classmethod
    def of(cls, store: Store, run: StoredRun, layers: Layers) -> RunOrder | None:
        grads = first_steps(store, run, "first_grad_step")
        if not grads:
            return None
        changes = first_steps(store, run, "first_change_step")
        never = [w for w in layers.weights if w not in grads]
        return cls(
            weights=len(layers.weights),
            latest_grad=None if never else max(grads[w] for w in layers.weights),
            latest_change=None
            if any(w not in changes for w in layers.weights)
            else max(changes[w] for w in layers.weights),
            never_grad=len(never),
        )


@dataclass(frozen=True)
class Facts:
    """What the stored results say about one condition."""

    setting: str
    """``dataset / model``."""
    condition: Condition
    layers: Layers
    symmetry: list[RunSymmetry]
    histories: list[GroupHistory]
    order: list[RunOrder]
    accuracies: list[float]

    @classmethod
    def of(cls, store: Store, setting: str, condition: Condition) -> Facts:
        layers = layers_of(condition.config)
        runs = condition.with_status("finished", "diverged")
        rows = [(r, symmetry_rows(store, r)) for r in runs]
        symmetry = [s for _, rs in rows if (s := RunSymmetry.of(rs, layers)) is not None]
        histories = [h for r, rs in rows for h in GroupHistory.of(rs, layers, r.record.seed)]
        order = [o for r in runs if (o := RunOrder.of(store, r, layers)) is not None]
        return cls(setting, condition, layers, symmetry, histories, order, condition_values(condition))

    @property
    def init(self) -> str:
        return self.condition.config["init"]

    @property
    def norm(self) -> str | None:
        return self.condition.config["model_params"].get("norm")

    @property
    def name(self) -> str:
        """The init, and ``(batch)`` for the BatchNorm reference: ``fixup``, ``pytorch-default (batch)``."""
        return (
            f"{self.init} (batch)" if self.init == "pytorch-default" and self.norm == "batch" else self.init
        )

    @property
    def mean(self) -> float:
        return mean_interval(self.accuracies)[0]

    def worst(self, attribute: str, pick: Any = max) -> Any:
        values = [getattr(s, attribute) for s in self.symmetry]
        return pick(values) if values else math.nan

    @property
    def latest_grad(self) -> float:
        steps = [o.latest_grad for o in self.order]
        if not steps:
            return math.nan
        return math.inf if None in steps else max(steps)

    @property
    def never_grad(self) -> float:
        """The most weights never given a gradient in one run (NaN: no update-order rows)."""
        return max((o.never_grad for o in self.order), default=math.nan)

    @property
    def loose_groups(self) -> list[GroupHistory]:
        """Layers (per seed) with identical units at init that are not a permanent group."""
        return [h for h in self.histories if h.grouped > 1 and h.permanent <= 1]

    @property
    def permanent_groups(self) -> list[GroupHistory]:
        """Layers (per seed) with a permanent group at init."""
        return [h for h in self.histories if h.permanent > 1]


@dataclass(frozen=True)
class SettingFacts:
    """One (dataset, model) setting: its conditions' facts by name (:attr:`Facts.name`), and the
    majority class's share of its test set (what predicting one class reaches)."""

    dataset: str
    model: str
    majority: float
    conditions: dict[str, Facts]

    @property
    def label(self) -> str:
        return setting_label(self.dataset, self.model)

    @property
    def where(self) -> str:
        """The setting in prose: ``digits resnet-20``, ``mnist mnist-cnn``."""
        return f"{self.dataset} {'resnet-20' if self.model == 'resnet-cifar' else self.model}"

    @property
    def tag(self) -> str:
        """The setting in claim names: ``digits/resnet-cifar``."""
        return f"{self.dataset}/{self.model}"

    def default_for(self, facts: Facts) -> Facts | None:
        """The PyTorch-default condition with the same normalization as ``facts``."""
        return next(
            (f for f in self.conditions.values() if f.init == "pytorch-default" and f.norm == facts.norm),
            None,
        )
