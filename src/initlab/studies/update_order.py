"""``update-order``: with zero weights and random biases, layers wake up from the output to the input.

In a depth-L MLP whose weights are all 0 and whose biases are random (``zero-weight-random-bias``),
every hidden activation is a constant, f(b), whatever the input. At step 0 only the head's weight
gets a gradient: ∂L/∂W_L = Σ_i δ_i f(b_{L−1})ᵀ ≠ 0, while ∂L/∂W_l = (W_{l+1}ᵀ δ_{l+1} ⊙ f′) aᵀ = 0
below it, because W_{l+1} = 0. After k steps, W_{L−k+1} ≠ 0 for the first time, so layer L−k
(k = 0 is the head) first changes at step k (0-based), exactly. With ``pytorch-default`` every layer
changes at step 0. In floating point the order can only be later, never earlier: with SGD each
first update is the gradient times the learning rate, a product of the k updates above it, so its
size shrinks geometrically with k and, deep enough, underflows float32 to an exact 0; Adam's first
update is ≈ lr·sign(g) whatever the gradient's size.

Each first update is an outer product (δ̄ aᵀ with an input-independent a, or, for the first layer, a
direction fixed by the rank-1 layer above), so each weight matrix is exactly rank 1 right after its
first update (Adam's g/(√v̂+ε) is an outer product only up to ε); the rank then grows slowly — the
training degeneracy of the ZerO paper (Zhao et al. 2021, arXiv 2110.12661). With ReLU, zero weights
and N(0, 1) biases, a unit whose bias is negative outputs 0 for every input, gets no gradient and
stays dead: about half the units of every hidden layer.

Measured on sklearn digits: MLPs of depth 2–8, width 32, batch 128, SGD (lr 0.1) and Adam (lr 1e-3),
tanh and ReLU, ``zero-weight-random-bias`` (N(0, 1) biases) against ``pytorch-default``, with the
``update-order``, ``symmetry``, ``grad-dist`` and ``signal`` probes on every run. The quick preset
trains 8 epochs (72 steps) with 2 seeds; the full preset 20 epochs with 5 seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.report import (
    Claim,
    FigureBlock,
    Section,
    StoredRun,
    Table,
    TableBlock,
    Text,
    group_conditions,
    palette,
)
from initlab.report.figures import new_figure, styled
from initlab.store import Store
from initlab.studies.base import Analysis, Preset, Study, StudyRuns, register_study
from initlab.train import build_initialized_model

ZERO = {"init": "zero-weight-random-bias", "init_params": {"dist": "normal", "scale": 1.0}}
DEFAULT = {"init": "pytorch-default"}
DEPTHS: str | list[int] = "2..8"
WIDTH = 32
OPTIMIZERS = {"sgd": 0.1, "adam": 1e-3}
ACTIVATIONS = ("tanh", "relu")
#: Steps over which the rank growth is reported (the symmetry probe records steps 0..RANK_STEPS).
RANK_STEPS = 50
#: The depth of the reference setting (REFERENCES.md "Exact facts": 5-layer width-32 MLP on digits).
REFERENCE_DEPTH = 5


@dataclass(frozen=True)
class PresetSettings:
    epochs: int
    seeds: int
    signal_every: int


PRESET_SETTINGS = {"quick": PresetSettings(8, 2, 10), "full": PresetSettings(20, 5, 30)}


def probes(preset: Preset) -> dict[str, dict[str, Any]]:
    """The instruments on every run: first steps in full, the signal at init and every few steps."""
    return {
        "update-order": {"first": 12, "every": 0},
        "symmetry": {"first": RANK_STEPS + 1, "every": 0},
        "grad-dist": {"first": 12, "every": 0},
        "signal": {"first": 1, "every": PRESET_SETTINGS[preset].signal_every},
    }


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    settings = PRESET_SETTINGS[preset]
    return [
        {
            "name": "mlp-depths",
            "base": {
                "dataset": "digits",
                "model": "mlp",
                "model_params": {"width": WIDTH},
                "batch_size": 128,
                "epochs": settings.epochs,
                "probes": probes(preset),
            },
            "axes": {
                "optimizer": list(OPTIMIZERS),
                "lr": list(OPTIMIZERS.values()),
                "model_params.activation": list(ACTIVATIONS),
                "scheme": [ZERO, DEFAULT],
                "model_params.depth": DEPTHS,
                "seed": f"0..{settings.seeds - 1}",
            },
            "zip": [["optimizer", "lr"]],
        }
    ]


# -- what each stored run shows ----------------------------------------------------------------------


def weight_layers(depth: int) -> list[str]:
    """An MLP's weight layers, input to head: fc1 ... fc{L−1}, head."""
    return [f"fc{i}" for i in range(1, depth)] + ["head"]


def expected_steps(depth: int) -> list[int]:
    """Layer L−k first changes at step k: per weight layer, input to head, [L−1, ..., 1, 0]."""
    return list(range(depth - 1, -1, -1))


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
        return weight_layers(self.depth)

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
    layers = weight_layers(depth)
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


def _steps_text(steps: Sequence[int | None]) -> str:
    return " ".join("never" if s is None else str(s) for s in steps)


def _where(facts: Sequence[RunFacts], **fields: Any) -> list[RunFacts]:
    return [f for f in facts if all(getattr(f, k) == v for k, v in fields.items())]


def _verdict(checked: int, failures: int) -> str:
    if not checked:
        return "inconclusive"
    return "fails" if failures else "holds"


# -- claims -----------------------------------------------------------------------------------------


def order_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """The exact order per (optimizer, activation); never early; the default's step 0."""
    claims = []
    zero = _where(facts, zero=True)
    for optimizer in OPTIMIZERS:
        for activation in ACTIVATIONS:
            runs = sorted(
                _where(zero, optimizer=optimizer, activation=activation), key=lambda f: (f.depth, f.seed)
            )
            if not runs:
                continue
            wrong = [f for f in runs if not f.exact]
            depths = sorted({f.depth for f in runs})
            exact_up_to = max(
                (d for d in depths if all(f.exact for f in runs if f.depth <= d)), default=min(depths) - 1
            )
            numbers: dict[str, Any] = {
                "runs": len(runs),
                "runs exact": len(runs) - len(wrong),
                "exact in every run up to depth": exact_up_to,
            }
            note = ""
            if wrong:
                first = wrong[0]
                numbers["first mismatch, input→head"] = (
                    f"depth {first.depth} seed {first.seed}: {_steps_text(first.first_change)}"
                )
                note = (
                    "float32: the first gradient that reaches layer L−k is a product of the k first updates "
                    "above it; with SGD each is orders of magnitude smaller than the last, and deep enough "
                    "it underflows to an exact 0, so the layer waits (see 'Why SGD falls behind')"
                )
            claims.append(
                Claim(
                    f"order-exact/{optimizer}/{activation}",
                    f"{optimizer}, {activation}: with zero weights and N(0,1) biases, layer L−k first "
                    f"changes at step k exactly (k = 0 the head), for every depth {depths[0]}–{depths[-1]} "
                    "and seed",
                    _verdict(len(runs), len(wrong)),
                    numbers,
                    note,
                )
            )
    early = [
        (f, layer)
        for f in zero
        for layer, got, want in zip(f.layers, f.first_change, expected_steps(f.depth), strict=True)
        if got is not None and got < want
    ]
    claims.append(
        Claim(
            "order-never-early",
            "zero weights, N(0,1) biases: no layer L−k changes before step k (every depth, optimizer, "
            "activation and seed)",
            _verdict(len(zero), len(early)),
            {"runs": len(zero), "layers": sum(f.depth for f in zero), "layers changed early": len(early)},
        )
    )
    default = _where(facts, zero=False)
    tensors = [(f, t, s) for f in default for t, s in f.tensor_changes.items()]
    late = [(f, t, s) for f, t, s in tensors if s != 0]
    numbers = {"runs": len(default), "tensors": len(tensors), "tensors not at step 0": len(late)}
    if late:
        f, t, s = late[0]
        numbers["first exception"] = f"{f.optimizer}/{f.activation} depth {f.depth} seed {f.seed}: {t} at {s}"
    claims.append(
        Claim(
            "default-all-at-step-0",
            "pytorch-default: every parameter tensor (weights and biases) changes at step 0 (every depth, "
            "optimizer, activation and seed)",
            _verdict(len(tensors), len(late)),
            numbers,
        )
    )
    return claims


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
    for f in _where(facts, zero=True):
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


def rank_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """SGD: rank 1 right after each first update; distinct units; the reference's ranks after 50 steps."""
    claims = []
    sgd = [u for u in first_updates(facts) if u.facts.optimizer == "sgd"]
    checked = [u for u in sgd if u.representable]
    left_out = [u for u in sgd if not u.representable]
    claims.append(
        Claim(
            "rank-one-after-first-update/sgd",
            "sgd, zero weights and N(0,1) biases: each weight matrix is exactly rank 1 right after its "
            "first update (numerical rank at the step after its first change; updates large enough to be "
            "representable in float32)",
            _verdict(len(checked), sum(u.rank != 1 for u in checked)),
            {
                "layers checked": len(checked),
                "rank 1": sum(u.rank == 1 for u in checked),
                "largest effective rank": max((u.effective_rank for u in checked), default=math.nan),
                "left out (update subnormal or not recorded)": len(left_out),
                "largest rank of those": max((u.rank for u in left_out), default=math.nan),
            },
            f"an update is representable when lr·max|g| ≥ 2^-102 ({REPRESENTABLE:.2g}): its entries down to "
            "float32's relative precision are normal numbers; a subnormal outer product loses its precision "
            "and looks full-rank",
        )
    )
    zero = _where(facts, zero=True)
    groups = [v for f in zero for layer in f.largest_group.values() for v in layer.values()]
    claims.append(
        Claim(
            "zero-weights-distinct-units",
            "zero weights, N(0,1) biases: no two units of a layer are ever identical (largest group 1 at "
            f"every recorded step 0–{RANK_STEPS}), unlike all-zero init",
            _verdict(len(groups), sum(v != 1 for v in groups)),
            {"layer-steps checked": len(groups), "largest group": max(groups, default=math.nan)},
        )
    )
    for activation, bound in (("tanh", 3), ("relu", 1)):
        runs = _where(zero, optimizer="sgd", activation=activation, depth=REFERENCE_DEPTH)
        final = {
            f.seed: [layer[RANK_STEPS] for layer in f.rank.values() if RANK_STEPS in layer] for f in runs
        }
        values = [r for ranks in final.values() for r in ranks]
        claims.append(
            Claim(
                f"rank-after-{RANK_STEPS}-steps/sgd/{activation}",
                f"sgd, {activation}, {REFERENCE_DEPTH}-layer width-{WIDTH} MLP on digits, zero weights and "
                f"N(0,1) biases: every weight matrix has rank ≤ {bound} after {RANK_STEPS} steps "
                "(REFERENCES.md, exact facts)",
                _verdict(len(values), sum(r > bound for r in values)),
                {
                    "runs": len(runs),
                    "layers checked": len(values),
                    **{f"largest rank, seed {s}": max(r) for s, r in sorted(final.items()) if r},
                },
            )
        )
    return claims


def first_update_table(facts: Sequence[RunFacts]) -> Table:
    """Per (optimizer, activation): the ranks right after the first updates."""
    rows = []
    updates = first_updates(facts)
    for optimizer, activation in SETTINGS:
        mine = [u for u in updates if (u.facts.optimizer, u.facts.activation) == (optimizer, activation)]
        if not mine:
            continue
        rows.append(
            {
                "optimizer": optimizer,
                "activation": activation,
                "layers": len(mine),
                "rank 1": sum(u.rank == 1 for u in mine),
                "largest rank": max(u.rank for u in mine),
                "largest effective rank": max(u.effective_rank for u in mine),
                "subnormal or unrecorded updates": sum(not u.representable for u in mine),
            }
        )
    return Table.from_rows(rows)


def dead_unit_claims(facts: Sequence[RunFacts]) -> tuple[list[Claim], Table]:
    """ReLU with zero weights: dead at init = negative biases; dead for good."""
    rows = []
    mismatches = later_fewer = 0
    for f in _where(facts, zero=True, activation="relu"):
        negative = negative_bias_fractions(f.run.record.config)
        for layer, fraction in negative.items():
            by_step = f.dead.get(layer, {})
            if 0 not in by_step:
                continue
            later = [v for s, v in sorted(by_step.items()) if s > 0]
            mismatches += by_step[0] != fraction
            later_fewer += any(v < by_step[0] for v in later)
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
    table = Table.from_rows(rows)
    dead0 = [r["dead at init"] for r in rows]
    units = sum(WIDTH for _ in rows)
    pooled = float(np.mean(dead0)) if dead0 else math.nan
    claims = [
        Claim(
            "relu-dead-equals-negative-bias",
            "relu, zero weights, N(0,1) biases: the fraction of dead units of every hidden layer at init "
            "equals the fraction of its biases ≤ 0 (about half)",
            _verdict(len(rows), mismatches),
            {
                "layers checked": len(rows),
                "mismatches": mismatches,
                "pooled dead fraction": pooled,
                "binomial 99% half-width": 2.576 * math.sqrt(0.25 / units) if units else math.nan,
            },
            "the negative-bias fractions are re-derived from each run's stored config and seed",
        ),
        Claim(
            "relu-dead-stay-dead",
            "relu, zero weights, N(0,1) biases: no hidden layer ever has fewer dead units than at init (the "
            "units with a negative bias get no gradient and stay dead)",
            _verdict(len(rows), later_fewer),
            {
                "layers checked": len(rows),
                "layers with fewer dead later": later_fewer,
                "last recorded step": max((r["last step"] for r in rows), default=0),
            },
        ),
    ]
    return claims, table


# -- sections -----------------------------------------------------------------------------------------

SETTINGS = [(o, a) for o in OPTIMIZERS for a in ACTIVATIONS]


def lowest_seed(facts: Sequence[RunFacts]) -> dict[tuple[Any, ...], RunFacts]:
    """The lowest-seed run of each (optimizer, activation, depth, zero)."""
    out: dict[tuple[Any, ...], RunFacts] = {}
    for f in sorted(facts, key=lambda f: f.seed, reverse=True):
        out[(f.optimizer, f.activation, f.depth, f.zero)] = f
    return out


def _grid_axes(fig: Figure, settings: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    axes = fig.subplots(2, 2, squeeze=False).ravel()
    return dict(zip(settings, axes, strict=True))


@styled
def order_figure(facts: Sequence[RunFacts]) -> Figure:
    fig = new_figure(10, 7.5)
    axes = _grid_axes(fig, SETTINGS)
    reps = lowest_seed(facts)
    depths = sorted({f.depth for f in facts})
    cmap = matplotlib.colormaps["viridis"]
    top = max((s for f in facts for s in f.first_change if s is not None), default=1)
    for (optimizer, activation), ax in axes.items():
        ax.plot([0, max(depths) - 1], [0, max(depths) - 1], "--", color="0.6", label="step = k")
        for i, depth in enumerate(depths):
            color = cmap(i / max(len(depths) - 1, 1))
            shift = 0.07 * (i - (len(depths) - 1) / 2)  # side by side, so lines on the diagonal all show
            ks = [k + shift for k in range(depth - 1, -1, -1)]
            rep = reps.get((optimizer, activation, depth, True))
            if rep is not None:
                seen = [(k, s) for k, s in zip(ks, rep.first_change, strict=True) if s is not None]
                never = [k for k, s in zip(ks, rep.first_change, strict=True) if s is None]
                if seen:
                    xs, ys = zip(*seen, strict=True)
                    ax.plot(xs, ys, "o-", color=color, markersize=3, linewidth=1, label=f"depth {depth}")
                if never:
                    ax.plot(never, [top + 2] * len(never), "x", color=color, markersize=7, mew=2)
            default = reps.get((optimizer, activation, depth, False))
            if default is not None:
                ax.plot(ks, default.first_change, "s", color="0.35", markersize=2.5, zorder=1)
        ax.set_title(f"{optimizer}, {activation}", fontsize=10)
        ax.set_xlabel("k: weight layers back from the head (0 = the head)")
        ax.set_ylabel("first step the layer changes")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[SETTINGS[0]].plot([], [], "s", color="0.35", markersize=3, label="pytorch-default")
    axes[SETTINGS[0]].plot([], [], "x", color="0.35", mew=2, label="never changed")
    axes[SETTINGS[0]].legend(fontsize=7, ncols=2)
    return fig


def order_table(facts: Sequence[RunFacts]) -> Table:
    rows = []
    for (optimizer, activation, depth, zero), rep in sorted(lowest_seed(facts).items()):
        runs = _where(facts, optimizer=optimizer, activation=activation, depth=depth, zero=zero)
        expected = expected_steps(depth) if zero else [0] * depth
        rows.append(
            {
                "optimizer": optimizer,
                "activation": activation,
                "init": ZERO["init"] if zero else DEFAULT["init"],
                "depth": depth,
                "expected (input→head)": _steps_text(expected),
                f"seed {rep.seed} (input→head)": _steps_text(rep.first_change),
                "seeds as expected": f"{sum(f.first_change == expected for f in runs)}/{len(runs)}",
            }
        )
    return Table.from_rows(rows)


@styled
def underflow_figure(facts: Sequence[RunFacts]) -> Figure:
    fig = new_figure(10, 3.8)
    axes = dict(zip(ACTIVATIONS, fig.subplots(1, 2, squeeze=False)[0], strict=True))
    deepest = max(f.depth for f in facts)
    colors = {"sgd": "C3", "adam": "C0"}
    for activation, ax in axes.items():
        for optimizer in OPTIMIZERS:
            runs = _where(facts, zero=True, optimizer=optimizer, activation=activation, depth=deepest)
            for i, f in enumerate(sorted(runs, key=lambda f: f.seed)):
                ks = list(range(deepest - 1, -1, -1))
                seen = [(k, math.log10(g)) for k, g in zip(ks, f.first_grad_size, strict=True) if g]
                never = [k for k, g in zip(ks, f.first_grad_size, strict=True) if not g]
                label = f"{optimizer} (seed {f.seed})" if i == 0 else None
                if seen:
                    xs, ys = zip(*seen, strict=True)
                    ax.plot(xs, ys, "o-", color=colors[optimizer], alpha=1.0 if i == 0 else 0.35, label=label)
                if never:
                    ax.plot(never, [-46] * len(never), "x", color=colors[optimizer], mew=2)
        ax.axhline(math.log10(FLOAT32_NORMAL), color="0.5", linestyle="--", label="smallest normal float32")
        ax.axhline(math.log10(FLOAT32_TINY), color="0.5", linestyle=":", label="smallest float32 (subnormal)")
        ax.set_title(f"{activation}, depth {deepest}", fontsize=10)
        ax.set_xlabel("k: weight layers back from the head")
        ax.set_ylabel("log10 largest |∂L/∂W| at its first non-zero step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[ACTIVATIONS[0]].legend(fontsize=7)
    return fig


FLOAT32_TINY = 2.0**-149
FLOAT32_NORMAL = 2.0**-126


@styled
def dead_figure(table: Table) -> Figure:
    fig = new_figure(5.5, 4.2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], "--", color="0.6", label="equal")
    ax.plot(table.column("negative biases"), table.column("dead at init"), "o", alpha=0.6, label="at init")
    ax.plot(
        table.column("negative biases"),
        table.column("dead at last step"),
        "x",
        alpha=0.6,
        color="C3",
        label="at the last recorded step",
    )
    ax.set_xlabel("fraction of the layer's biases ≤ 0 at init")
    ax.set_ylabel("fraction of dead units (signal probe)")
    ax.set_xlim(0.1, 0.9)
    ax.set_ylim(0.1, 0.9)
    ax.legend(fontsize=8)
    ax.set_title("ReLU, zero weights, N(0,1) biases: every hidden layer of every run", fontsize=9)
    return fig


def rank_rows(facts: Sequence[RunFacts]) -> Table:
    rows = []
    for (optimizer, activation, depth, zero), rep in sorted(lowest_seed(facts).items()):
        if depth != REFERENCE_DEPTH or not zero:
            continue
        for layer in rep.layers:
            by_step = rep.rank.get(layer, {})
            rows.append(
                {
                    "optimizer": optimizer,
                    "activation": activation,
                    "seed": rep.seed,
                    "layer": layer,
                    f"rank at steps 0–{RANK_STEPS}": " ".join(
                        str(int(by_step[s])) if s in by_step else "·" for s in range(RANK_STEPS + 1)
                    ),
                    f"effective rank at {RANK_STEPS}": rep.effective_rank.get(layer, {}).get(RANK_STEPS),
                }
            )
    return Table.from_rows(rows)


@styled
def rank_figure(facts: Sequence[RunFacts]) -> Figure:
    fig = new_figure(10, 6.5)
    axes = _grid_axes(fig, SETTINGS)
    reps = lowest_seed(facts)
    for (optimizer, activation), ax in axes.items():
        rep = reps.get((optimizer, activation, REFERENCE_DEPTH, True))
        if rep is None:
            continue
        for layer, color in zip(rep.layers, palette(rep.layers).values(), strict=True):
            by_step = rep.rank.get(layer, {})
            xs = sorted(by_step)
            ax.step(xs, [by_step[s] for s in xs], where="post", color=color, label=layer)
        ax.set_title(f"{optimizer}, {activation} (seed {rep.seed})", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("numerical rank")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[SETTINGS[0]].legend(fontsize=7, title="layer", title_fontsize=7)
    return fig


def analyze(data: StudyRuns) -> Analysis:
    facts = [run_facts(data.store, run) for run in data.runs if run.status == "finished"]
    if not facts:
        return Analysis([], [Section("No finished runs", [Text("No run of the study has finished yet.")])])
    dead_claims, dead_table = dead_unit_claims(facts)
    claims = [*order_claims(facts), *rank_claims(facts), *dead_claims]
    order = order_table(facts)
    depths = sorted({f.depth for f in facts})
    ranks = rank_rows(facts)
    sections = [
        Section(
            "First change step against depth",
            [
                Text(
                    "Zero weights with N(0,1) biases against PyTorch's default, MLPs of depth "
                    f"{min(depths)}–{max(depths)} (width {WIDTH}) on digits. Expected with zero weights: "
                    "layer L−k first changes at step k, the diagonal."
                ),
                FigureBlock.of(
                    "first_change_vs_depth",
                    order_figure(facts),
                    "First step each weight layer changes against its distance k from the head, one line "
                    "per depth (lowest-seed run); ✕ at the top: never changed in the run; grey squares: "
                    "pytorch-default (every layer at step 0).",
                ),
                TableBlock(
                    "first_change_steps",
                    order,
                    "first change step of each weight layer, input to head, in the lowest-seed run, and how "
                    "many seeds follow the expected order exactly",
                ),
            ],
        ),
        Section(
            "Why SGD falls behind",
            [
                Text(
                    "The first gradient that reaches layer L−k is a product of the k first updates above "
                    "it. With SGD each first update is the learning rate times a gradient, so the sizes "
                    "fall geometrically with k until they underflow float32, and the layer gets an exact 0 "
                    "instead; Adam's first update is about lr·sign(g) whatever the gradient's size, so the "
                    "chain does not shrink."
                ),
                FigureBlock.of(
                    "first_gradient_size",
                    underflow_figure(facts),
                    "Largest |gradient element| of each weight at its first step with a non-zero gradient "
                    "(grad-dist probe, first 12 steps), deepest MLPs, every seed (the lowest one opaque); "
                    "✕: no non-zero gradient in those steps.",
                ),
            ],
        ),
        Section(
            "Dead ReLU units",
            [
                FigureBlock.of(
                    "relu_dead_units",
                    dead_figure(dead_table),
                    "Fraction of dead units (zero for every sample of the batch) per hidden layer at init "
                    "and at the last recorded step, against the fraction of that layer's biases ≤ 0 at init "
                    "(re-derived from each run's config and seed).",
                ),
                TableBlock(
                    "relu_dead_units",
                    dead_table,
                    "dead units per hidden layer, zero weights with N(0,1) biases, ReLU",
                    collapsed=True,
                ),
            ],
        ),
        Section(
            "Rank growth of zero-initialized layers",
            [
                Text(
                    f"Numerical rank of each weight matrix over the first {RANK_STEPS} steps, "
                    f"{REFERENCE_DEPTH}-layer width-{WIDTH} MLP, zero weights with N(0,1) biases (lowest "
                    "seed). A matrix is rank 0 until its first change, then rank 1 (with SGD exactly)."
                ),
                FigureBlock.of("rank_growth", rank_figure(facts), "numerical rank per layer over the steps"),
                TableBlock(
                    "rank_after_first_update",
                    first_update_table(facts),
                    "numerical and effective rank of each zero-initialized weight matrix right after its "
                    "first update, all depths and seeds: exactly rank 1 with SGD, not with Adam, whose "
                    "first update −lr·g/(√v̂+ε) is an outer product only up to ε",
                ),
                TableBlock(
                    "rank_growth",
                    ranks,
                    f"numerical rank per layer at steps 0–{RANK_STEPS} (· not recorded)",
                ),
            ],
        ),
    ]
    groups = {
        f"{optimizer}, {activation}": group_conditions(
            [f.run for f in facts if f.setting == (optimizer, activation)]
        )
        for optimizer, activation in SETTINGS
    }
    return Analysis(claims, sections, groups={k: v for k, v in groups.items() if v})


STUDY = register_study(
    Study(
        name="update-order",
        title="Update order: layers wake up from the output to the input",
        question="With zero weights and random biases, does layer L−k first change at step k, while the "
        "default moves every layer at step 0?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
