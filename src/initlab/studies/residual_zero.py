"""``residual-zero``: why do Fixup and ``zero_module`` not suffer from the symmetry of zero init?

The question (Cross Validated 582809): zero init is bad because identical units get identical
updates, yet Fixup and improved-diffusion's ``zero_module`` zero the last layer of every residual
branch (Fixup the classifier too), and they train. Its one answer says that conv locality breaks the
symmetry across channels ("different neurons get different input data") and that x + f(x) keeps the
asymmetry of the input.

What this study measures, with the ``symmetry`` probe (at steps 0, 1, 2 and at the end of every epoch)
and the ``update-order`` probe attached through the run config:

- resnet-20 without normalization from all-zero init (``zeros``), ``zero-last-layer`` (``zero_module``
  on each branch's last conv), ``fixup`` (on Fixup's structure, ``fixup=True``), ``rezero``,
  ``skipinit`` and ``pytorch-default``; with BatchNorm, ``zero-last-norm`` (zero-γ) and
  ``pytorch-default``. Adam 1e-3, batch 128, as in the seed study.
- the constant-init conv case: the seed study's MNIST CNN with every weight 0.01 (``constant``), its
  default-initialized twin, and the same pair for the MNIST FNN.

**Shortcuts: option B.** Every ResNet here uses projection shortcuts (``shortcut="conv"``, a strided 1×1
conv) where the shape changes. With option A (zero-padded channels, Fixup's CIFAR reference), a
downsampling block's appended channels get shortcut 0 and, under ``zero-last-layer`` or
``zero-last-norm``, branch 0: their pre-activation is exactly 0, ReLU'(0) = 0, and they stay dead for
good (resnet-20: at least 16 of 32 channels of stage 2 and 48 of 64 of stage 3), while ``fixup``,
``rezero`` and ``skipinit`` revive them through a scalar. That artefact of the shortcut would hit only
some schemes and blur the comparison of their symmetry; option B gives every scheme the same network.

**Data.** The quick preset trains on scikit-learn's 8×8 digits (real handwritten digits; resnet-20 on
1,137 images for 20 epochs takes seconds on a CPU) and runs the constant-init nets on 6,000 MNIST
images for one epoch. The full preset trains resnet-20 on Fashion-MNIST (1×28×28; 15 epochs,
5 seeds), on CIFAR-10 too when it is available (30 epochs, random crop and flip, standardized
inputs), and the constant-init nets on MNIST for the seed study's 15 (CNN) and 10 (FNN) epochs.

Claims (computed from the stored probe rows and metrics):

- all-zero init: every hidden layer is one group of identical channels with a *permanent* verdict,
  at init and at the end, and the accuracy stays at the majority class;
- each zero-branch scheme: no permanent symmetry at init, every conv and linear weight gets a
  non-zero gradient within 2 steps, and the final accuracy is within ``MARGIN`` of the default with
  the same normalization;
- constant init: every hidden layer is one permanent group at init and its weight still has rank 1
  at the end (its channels are copies of one channel); the CNN nevertheless trains far above chance
  (locality keeps the positions apart, not the channels), while the FNN (one hidden unit in effect)
  ends far below its default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from torch import nn

from initlab.data import load_dataset
from initlab.models import build_model
from initlab.models.roles import find_head, weight_layers
from initlab.report import Claim, Condition, Section, StoredRun, Table, TableBlock, Text
from initlab.store import Store
from initlab.studies.base import Analysis, Preset, Study, StudyRuns, register_study
from initlab.studies.verdicts import above, below, condition_values, difference_ci, mean_interval
from initlab.studies.zero_symmetry import MAJORITY_SLACK, cifar10_available, majority_fraction

BATCH = 128
#: "Trains to an accuracy near the default": the 95% CI of default − scheme lies below this.
MARGIN = 0.03
#: The constant FNN (one hidden unit in effect) ends at least this far below its default.
COLLAPSE_GAP = 0.2
#: Every weight of a zero-branch scheme gets a non-zero gradient by this step (0-based).
WAKE_UP_STEPS = 2

RESNET = {"model": "resnet-cifar", "model_params": {"depth": 20, "shortcut": "conv"}}


def _resnet(init: str, norm: str, **model_params: Any) -> dict[str, Any]:
    return {"init": init, "model_params": {"norm": norm, **model_params}}


#: (scheme, bundle) of the ResNet comparison; the defaults are the references of their norm.
RESNET_SCHEMES = (
    _resnet("zeros", "none"),
    _resnet("pytorch-default", "none"),
    _resnet("zero-last-layer", "none"),
    _resnet("fixup", "none", fixup=True),
    _resnet("rezero", "none"),
    _resnet("skipinit", "none"),
    _resnet("zero-last-norm", "batch"),
    _resnet("pytorch-default", "batch"),
)
ZERO_BRANCH = ("zero-last-layer", "fixup", "rezero", "skipinit", "zero-last-norm")


@dataclass(frozen=True)
class Part:
    """One sweep of the study: a dataset, its training length, and the (model, init) points."""

    name: str
    dataset: str
    epochs: int
    train_size: int
    """Training images (the training split minus the validation split when that is all of it)."""
    val_size: int
    seeds: int
    axes: dict[str, list[Any]]
    base: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_size / BATCH)

    def sweep(self) -> dict[str, Any]:
        epoch = self.steps_per_epoch
        probes = {
            "symmetry": {"first": WAKE_UP_STEPS + 1, "every": epoch, "rank": True},
            "update-order": {"first": 10, "every": epoch},
        }
        base = {
            "dataset": self.dataset,
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": BATCH,
            "epochs": self.epochs,
            "train_size": self.train_size,
            "val_size": self.val_size,
            "probes": probes,
            **self.base,
        }
        return {"name": self.name, "base": base, "axes": {**self.axes, "seed": f"0..{self.seeds - 1}"}}


def _constant(model: str, dataset: str, epochs: int, train_size: int, val_size: int, seeds: int) -> Part:
    return Part(
        f"constant-{model}",
        dataset,
        epochs,
        train_size,
        val_size,
        seeds,
        {"model": [model], "init": ["constant", "pytorch-default"]},
    )


def _resnets(
    name: str, dataset: str, epochs: int, train_size: int, val_size: int, seeds: int, **extra: Any
) -> Part:
    return Part(
        name,
        dataset,
        epochs,
        train_size,
        val_size,
        seeds,
        {"scheme": list(RESNET_SCHEMES)},
        {**RESNET, **extra},
    )


#: MNIST, Fashion-MNIST: 60,000 training images minus the 7,000-image validation split; CIFAR-10: 50,000.
FULL_TRAIN, CIFAR_TRAIN, FULL_VAL = 53_000, 43_000, 7_000


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    if preset == "quick":
        parts = [
            _resnets("resnet20-digits", "digits", 20, 1_137, 300, 3),
            _constant("mnist-cnn", "mnist", 1, 6_000, 1_000, 2),
            _constant("mnist-fnn", "mnist", 1, 6_000, 1_000, 2),
        ]
    else:
        parts = [
            _resnets("resnet20-fashion", "fashion-mnist", 15, FULL_TRAIN, FULL_VAL, 5),
            _constant("mnist-cnn", "mnist", 15, FULL_TRAIN, FULL_VAL, 5),
            _constant("mnist-fnn", "mnist", 10, FULL_TRAIN, FULL_VAL, 5),
        ]
        if cifar10_available():
            parts.append(
                _resnets(
                    "resnet20-cifar",
                    "cifar10",
                    30,
                    CIFAR_TRAIN,
                    FULL_VAL,
                    5,
                    augment="crop-flip",
                    normalize=True,
                )
            )
    return [part.sweep() for part in parts]


# -- reading the stored probe rows ----------------------------------------------------------------


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


def symmetry_rows(store: Store, run: StoredRun) -> dict[int, dict[str, dict[str, float]]]:
    """``{step: {layer: {quantity: value}}}`` of a run's stored ``symmetry`` rows."""
    out: dict[int, dict[str, dict[str, float]]] = {}
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
    def of(cls, store: Store, run: StoredRun, layers: Layers) -> RunSymmetry | None:
        rows = symmetry_rows(store, run)
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
    order: list[RunOrder]
    accuracies: list[float]

    @classmethod
    def of(cls, store: Store, setting: str, condition: Condition) -> Facts:
        layers = layers_of(condition.config)
        runs = condition.with_status("finished", "diverged")
        symmetry = [s for r in runs if (s := RunSymmetry.of(store, r, layers)) is not None]
        order = [o for r in runs if (o := RunOrder.of(store, r, layers)) is not None]
        return cls(setting, condition, layers, symmetry, order, condition_values(condition))

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


# -- claims -----------------------------------------------------------------------------------------


def zeros_claims(where: str, tag: str, zeros: Facts, majority: float) -> list[Claim]:
    s = zeros.symmetry
    permanent = "inconclusive"
    if s:
        whole = all(r.whole_permanent_at_init == r.hidden == r.whole_permanent_at_end for r in s)
        permanent = "holds" if whole else "fails"
    chance = "inconclusive"
    if zeros.accuracies:
        chance = "holds" if max(zeros.accuracies) <= majority + MAJORITY_SLACK else "fails"
    return [
        Claim(
            f"zeros-permanent/{tag}",
            f"{where}, all-zero init: every hidden layer is one group of identical channels with a permanent "
            "verdict, at init and at the last recorded step",
            permanent,
            {
                "runs": len(s),
                "hidden layers": zeros.worst("hidden"),
                "one permanent group at init": zeros.worst("whole_permanent_at_init", min),
                "one permanent group at the end": zeros.worst("whole_permanent_at_end", min),
                "last step": zeros.worst("last_step", min),
            },
        ),
        Claim(
            f"zeros-chance/{tag}",
            f"{where}, all-zero init: the accuracy stays at the majority class ({majority:.4f})",
            chance,
            {"runs": len(zeros.accuracies), "best accuracy": max(zeros.accuracies, default=math.nan)},
        ),
    ]


def zero_branch_claims(where: str, tag: str, facts: Facts, default: Facts | None) -> list[Claim]:
    s, o = facts.symmetry, facts.order
    wakes = "inconclusive"
    if s and o:
        no_permanent = all(r.permanent_at_init == 0 for r in s)
        wakes = "holds" if no_permanent and facts.latest_grad <= WAKE_UP_STEPS else "fails"
    claims = [
        Claim(
            f"wakes-up/{tag}/{facts.init}",
            f"{where}, {facts.name}: no permanent symmetry at init, and every conv and linear weight gets a "
            f"non-zero gradient within {WAKE_UP_STEPS} steps",
            wakes,
            {
                "runs": len(s),
                "largest group of identical units at init": facts.worst("largest_group_at_init"),
                "largest permanent group at init": facts.worst("largest_permanent_at_init"),
                "latest first-gradient step": facts.latest_grad,
            },
        )
    ]
    if default is not None:
        gap = difference_ci(default.accuracies, facts.accuracies)
        claims.append(
            Claim(
                f"near-default/{tag}/{facts.init}",
                f"{where}, {facts.name}: trains to within {MARGIN * 100:.0f} points of {default.name} "
                "(95% Welch CI of default − scheme below the margin)",
                below(gap.low, gap.high, MARGIN),
                {
                    "accuracy": facts.mean,
                    "default": default.mean,
                    "gap": gap.estimate,
                    "ci low": gap.low,
                    "ci high": gap.high,
                },
            )
        )
    return claims


def constant_claims(
    where: str, tag: str, constant: Facts, default: Facts | None, majority: float
) -> list[Claim]:
    s = constant.symmetry
    permanent = "inconclusive"
    if s:
        whole = all(r.whole_permanent_at_init == r.hidden == r.rank_one_at_end for r in s)
        permanent = "holds" if whole else "fails"
    units = "channels" if constant.layers.convs else "units"
    claims = [
        Claim(
            f"constant-permanent/{tag}",
            f"{where}, constant init: every hidden layer's {units} are one group with a permanent verdict at "
            "init, and its weight still has rank 1 at the last recorded step (all copies of one)",
            permanent,
            {
                "runs": len(s),
                "hidden layers": constant.worst("hidden"),
                "one permanent group at init": constant.worst("whole_permanent_at_init", min),
                "rank 1 at the end": constant.worst("rank_one_at_end", min),
                "largest rank at the end": constant.worst("max_rank_at_end"),
                "last step": constant.worst("last_step", min),
            },
        )
    ]
    mean, low, high = mean_interval(constant.accuracies)
    if constant.layers.convs:
        claims.append(
            Claim(
                f"constant-conv-trains/{tag}",
                f"{where}, constant init: the one-channel conv net still trains, far above the majority "
                f"class (95% CI of the accuracy above {majority:.3f} + 0.5): locality keeps positions apart",
                above(low, high, majority + 0.5),
                {
                    "accuracy": mean,
                    "ci low": low,
                    "ci high": high,
                    "default": default.mean if default is not None else math.nan,
                },
            )
        )
    elif default is not None:
        gap = difference_ci(default.accuracies, constant.accuracies)
        claims.append(
            Claim(
                f"constant-collapses/{tag}",
                f"{where}, constant init: with one hidden unit in effect it ends more than "
                f"{COLLAPSE_GAP * 100:.0f} points below {default.name} (95% Welch CI of the gap above it)",
                above(gap.low, gap.high, COLLAPSE_GAP),
                {
                    "accuracy": mean,
                    "default": default.mean,
                    "gap": gap.estimate,
                    "ci low": gap.low,
                    "ci high": gap.high,
                },
            )
        )
    return claims


# -- tables and the answer --------------------------------------------------------------------------


def symmetry_table(facts: Sequence[Facts]) -> Table:
    """Per condition, counts of hidden layers (maximum over seeds) by their symmetry at init and at the
    last record."""
    rows = []
    for f in facts:
        rows.append(
            {
                "setting": f.setting,
                "init": f.name,
                "hidden layers": f.worst("hidden"),
                "identical units at init": f.worst("grouped_at_init"),
                "permanent group at init": f.worst("permanent_at_init"),
                "largest identical group": f.worst("largest_group_at_init"),
                "largest permanent group": f.worst("largest_permanent_at_init"),
                "one permanent group at the end": f.worst("whole_permanent_at_end"),
                "rank 1 at the end": f.worst("rank_one_at_end"),
                "last step": f.worst("last_step"),
            }
        )
    return Table.from_rows(rows)


def order_table(facts: Sequence[Facts]) -> Table:
    rows = []
    for f in facts:
        changes = [o.latest_change for o in f.order]
        rows.append(
            {
                "setting": f.setting,
                "init": f.name,
                "weights": len(f.layers.weights),
                "weights never given a gradient": max((o.never_grad for o in f.order), default=math.nan),
                "latest first-gradient step": f.latest_grad,
                "latest first-change step": (math.inf if None in changes else max(changes))
                if changes
                else math.nan,
            }
        )
    return Table.from_rows(rows)


def first_gradient_table(store: Store, facts: Sequence[Facts]) -> Table:
    """Per weight tensor, its first non-zero-gradient step (max over seeds; ∞: never) under each init
    (``facts``: the conditions of one setting)."""
    columns: dict[str, dict[str, float]] = {}
    for f in facts:
        runs = f.condition.with_status("finished", "diverged")
        per_run = [first_steps(store, r, "first_grad_step") for r in runs]
        columns[f.name] = {
            w: max((steps.get(w, math.inf) for steps in per_run), default=math.nan) for w in f.layers.weights
        }
    weights = list(dict.fromkeys(w for col in columns.values() for w in col))
    return Table.from_rows(
        {"weight": w, **{name: col.get(w, math.nan) for name, col in columns.items()}} for w in weights
    )


def _fmt(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def resnet_answer(where: str, resnets: dict[str, Facts]) -> list[str]:
    """What one ResNet setting measured, in words."""
    zeros, branch = resnets.get("zeros"), [resnets[s] for s in ZERO_BRANCH if s in resnets]
    paragraphs = []
    if branch:
        lines = "; ".join(
            f"{f.name} {_fmt(f.mean)} (largest group of identical units at init: "
            f"{f.worst('largest_group_at_init')}, largest permanent group: "
            f"{f.worst('largest_permanent_at_init')}; every weight has a gradient by step {f.latest_grad:g})"
            for f in branch
        )
        defaults = ", ".join(
            f"{f.name} {_fmt(f.mean)}" for f in resnets.values() if f.init == "pytorch-default"
        )
        paragraphs.append(
            f"Measured on {where} (final test accuracy, mean over seeds): {lines}. The defaults: {defaults}."
        )
    if zeros is not None:
        never = max((o.never_grad for o in zeros.order), default=math.nan)
        paragraphs.append(
            f"All-zero init is different: {zeros.worst('whole_permanent_at_init', min)} of "
            f"{zeros.worst('hidden')} hidden layers of resnet-20 are one permanent group at init, "
            f"{zeros.worst('whole_permanent_at_end', min)} still at the end; {never} of "
            f"{len(zeros.layers.weights)} weights never get a gradient (the classifier's bias alone "
            f"learns: the class prior); it ends at {_fmt(zeros.mean)} (best run "
            f"{_fmt(max(zeros.accuracies, default=math.nan))}), chance level. The skip path carries the "
            "input's variety only if something before it differs per channel: here the stem conv is zero "
            "too, so every channel of the stream is the same zero."
        )
    if "rezero" in resnets and "skipinit" in resnets:
        pairs = zip(resnets["rezero"].accuracies, resnets["skipinit"].accuracies, strict=False)
        gap = max((abs(a - b) for a, b in pairs), default=math.nan)
        same = "are the same in every seed" if gap == 0 else f"differ by at most {gap:.3g} across seeds"
        paragraphs.append(
            "Without normalization, rezero and skipinit are the same init (He-normal branches, a zero "
            f"scalar gain per branch): their final accuracies {same}."
        )
    return paragraphs


def constant_answer(where: str, constant: Facts, default: Facts | None) -> str:
    twin = f", its default-initialized twin {_fmt(default.mean)}" if default is not None else ""
    whole, hidden = constant.worst("whole_permanent_at_init", min), constant.worst("hidden")
    rank = constant.worst("max_rank_at_end")
    if constant.layers.convs:
        return (
            "The accepted answer's locality argument does not hold for channels. With every weight of "
            f"the {where} set to 0.01, each conv layer's channels are one permanent group ({whole} of "
            f"{hidden} hidden layers), and after training the largest rank of a hidden weight is "
            f"{rank}: every channel is a copy of one. Locality makes positions differ, not channels: "
            "all channels at a position see the same input patch. One channel is enough to learn "
            f"something, though: the net reaches {_fmt(constant.mean)}{twin}."
        )
    return (
        f"The fully connected {where} with constant init collapses the same way (its hidden units are one "
        f"permanent group, rank {rank} at the end), but without positions to keep apart, one hidden unit "
        f"in effect reaches only {_fmt(constant.mean)}{twin}."
    )


SHORT_ANSWER = (
    "Short answer: zero weights are a problem only when the zeroed units are interchangeable. Two units stay "
    "identical forever only if everything that tells them apart is equal: their incoming weights and bias, "
    "their outgoing weights, and whatever is added to their outputs. A zero-initialized last conv of a "
    "residual branch has identical (zero) output channels, but channel i of the branch is added to channel i "
    "of the skip path x, and the layers after the block read each channel of x + f(x) with different random "
    "weights. So the gradient reaching each output channel differs, the zero layer's rows get different "
    "updates at the first step, and once that layer is non-zero, gradient flows to the layers before it. "
    "Fixup's zero classifier is no symmetry either: its units feed the loss, which treats each class "
    "differently. ReZero and SkipInit (a zero scalar gain per branch) and zero-γ (a zero BatchNorm scale) "
    "leave the branch's weights random: there are no identical units at all, and the branch wakes up as "
    "soon as its scalar has moved."
)


# -- analysis ---------------------------------------------------------------------------------------


def _settings(data: StudyRuns) -> dict[tuple[str, str], list[Condition]]:
    pairs = dict.fromkeys((r.record.dataset, r.record.model) for r in data.runs)
    return {(d, m): data.conditions(dataset=d, model=m) for d, m in pairs}


def analyze(data: StudyRuns) -> Analysis:
    claims: list[Claim] = []
    per_setting: dict[str, list[Facts]] = {}
    words, constants = [SHORT_ANSWER], []
    settings = _settings(data)
    for (dataset, model), conditions in settings.items():
        setting = f"{dataset} / {model}"
        facts = {f.name: f for f in (Facts.of(data.store, setting, c) for c in conditions)}
        per_setting[setting] = list(facts.values())
        where = f"{dataset} {'resnet-20' if model == 'resnet-cifar' else model}"
        tag, majority = f"{dataset}/{model}", majority_fraction(dataset)
        defaults = {f.norm: f for f in facts.values() if f.init == "pytorch-default"}
        if "zeros" in facts:
            claims += zeros_claims(where, tag, facts["zeros"], majority)
        for scheme in ZERO_BRANCH:
            if scheme in facts:
                claims += zero_branch_claims(where, tag, facts[scheme], defaults.get(facts[scheme].norm))
        if model == "resnet-cifar":
            words += resnet_answer(where, facts)
        if "constant" in facts:
            constant, default = facts["constant"], defaults.get(facts["constant"].norm)
            claims += constant_claims(where, tag, constant, default, majority)
            constants.append(constant_answer(where, constant, default))
    every = [f for facts in per_setting.values() for f in facts]
    first_gradients = [
        TableBlock(
            "first_gradient_step_" + re.sub(r"[^A-Za-z0-9.-]+", "_", setting),
            first_gradient_table(data.store, facts),
            f"{setting}: first non-zero-gradient step of every weight (latest over seeds; ∞: never) per init",
            collapsed=True,
        )
        for setting, facts in per_setting.items()
    ]
    sections = [
        Section(
            "Symmetry at init and at the end",
            [
                Text(
                    "Per condition, over its hidden layers (every weight layer but the classifier), from "
                    "the stored symmetry rows: the layers with a group of identical units at init, the "
                    "layers whose group is permanent (identical incoming, per-unit and outgoing slices: "
                    "gradient descent can never separate them), the largest such groups, and at the last "
                    "recorded step the layers that are still one permanent group and whose weight has "
                    "rank 1. Maximum over seeds."
                ),
                TableBlock("symmetry", symmetry_table(every), "symmetry of the hidden layers per condition"),
            ],
        ),
        Section(
            "Update order",
            [
                Text(
                    "From the stored update-order rows: the latest step (over the conv and linear weights) "
                    "at which a weight first gets a non-zero gradient and first changes, latest over "
                    "seeds; ∞: some weight never did."
                ),
                TableBlock("update_order", order_table(every), "update order per condition"),
                *first_gradients,
            ],
        ),
    ]
    lead = [Section("Answer to the question", [Text(p) for p in words + constants])]
    return Analysis(claims, sections, {s: [f.condition for f in fs] for s, fs in per_setting.items()}, lead)


STUDY = register_study(
    Study(
        name="residual-zero",
        title="Why Fixup and zero_module do not suffer from the symmetry of zero init",
        question="Zeroing each residual branch's last layer (Fixup, zero_module, zero-γ, ReZero, SkipInit) "
        "leaves no permanent symmetry while all-zero and constant init do, conv locality notwithstanding?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
