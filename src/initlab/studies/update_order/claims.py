"""The update-order study's claims, each verdict computed from the runs' facts.

The order (layer L−k first changes at step k) and the rank-1 first updates follow from backpropagation
through zero weights (the derivation is in :mod:`initlab.studies.update_order`); the rank stays low, the
training degeneracy of zero-initialized layers that the ZerO paper describes (Zhao et al. 2021, arXiv
2110.12661); ReLU units with a negative bias and zero incoming weights are dead for every input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from initlab.report import Claim, Verdict
from initlab.studies.update_order.facts import (
    REPRESENTABLE,
    RunFacts,
    first_updates,
    late_layers,
    steps_text,
    where,
)
from initlab.studies.update_order.grid import (
    ACTIVATIONS,
    OPTIMIZERS,
    RANK_BOUNDS,
    RANK_STEPS,
    REFERENCE_DEPTH,
    WIDTH,
    expected_steps,
)


def count_verdict(checked: int, failures: int) -> Verdict:
    """*holds* when something was checked and nothing failed, *fails* on any failure, else *inconclusive*."""
    if not checked:
        return "inconclusive"
    return "fails" if failures else "holds"


def order_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """The exact order per (optimizer, activation); never early; the default's step 0."""
    claims = []
    zero = where(facts, zero=True)
    for optimizer in OPTIMIZERS:
        for activation in ACTIVATIONS:
            runs = sorted(
                where(zero, optimizer=optimizer, activation=activation), key=lambda f: (f.depth, f.seed)
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
                    f"depth {first.depth} seed {first.seed}: {steps_text(first.first_change)}"
                )
                late = [layer for f in wrong for layer in late_layers(f)]
                silent = sum(layer.silent for layer in late)
                numbers["late layers"] = len(late)
                numbers["late layers with an exact-0 gradient at step k"] = silent
                note = late_note(len(late), silent)
            claims.append(
                Claim(
                    f"order-exact/{optimizer}/{activation}",
                    f"{optimizer}, {activation}: with zero weights and N(0,1) biases, layer L−k first "
                    f"changes at step k exactly (k = 0 the head), for every depth {depths[0]}–{depths[-1]} "
                    "and seed",
                    count_verdict(len(runs), len(wrong)),
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
            count_verdict(len(zero), len(early)),
            {"runs": len(zero), "layers": sum(f.depth for f in zero), "layers changed early": len(early)},
        )
    )
    default = where(facts, zero=False)
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
            count_verdict(len(tensors), len(late)),
            numbers,
        )
    )
    return claims


def late_note(late: int, silent: int) -> str:
    """Why the late layers of a mismatched order waited, as far as their recorded gradients say."""
    if late and silent == late:
        return (
            "every late layer's gradient was an exact 0 at its step k: the first gradient that reaches layer "
            "L−k is a product of the k first updates above it, and in float32 it underflowed to 0, so the "
            "layer waited (see 'Why SGD falls behind')"
        )
    if silent == 0:
        return "the late layers had a non-zero gradient at their step k, yet their weights did not change"
    return (
        f"{silent} of the {late} late layers had an exact-0 gradient at their step k (float32 underflow); "
        "the others had a non-zero gradient, yet did not change"
    )


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
            count_verdict(len(checked), sum(u.rank != 1 for u in checked)),
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
    zero = where(facts, zero=True)
    groups = [v for f in zero for layer in f.largest_group.values() for v in layer.values()]
    claims.append(
        Claim(
            "zero-weights-distinct-units",
            "zero weights, N(0,1) biases: no two units of a layer are ever identical (largest group 1 at "
            f"every recorded step 0–{RANK_STEPS}), unlike all-zero init",
            count_verdict(len(groups), sum(v != 1 for v in groups)),
            {"layer-steps checked": len(groups), "largest group": max(groups, default=math.nan)},
        )
    )
    for activation, bound in RANK_BOUNDS.items():
        runs = where(zero, optimizer="sgd", activation=activation, depth=REFERENCE_DEPTH)
        final = {
            f.seed: [layer[RANK_STEPS] for layer in f.rank.values() if RANK_STEPS in layer] for f in runs
        }
        values = [r for ranks in final.values() for r in ranks]
        claims.append(
            Claim(
                f"rank-after-{RANK_STEPS}-steps/sgd/{activation}",
                f"sgd, {activation}, {REFERENCE_DEPTH}-layer width-{WIDTH} MLP on digits, zero weights and "
                f"N(0,1) biases: every weight matrix has rank ≤ {bound} after {RANK_STEPS} steps",
                count_verdict(len(values), sum(r > bound for r in values)),
                {
                    "runs": len(runs),
                    "layers checked": len(values),
                    **{f"largest rank, seed {s}": max(r) for s, r in sorted(final.items()) if r},
                },
            )
        )
    return claims


def dead_unit_claims(rows: Sequence[dict[str, Any]]) -> list[Claim]:
    """ReLU with zero weights (``rows`` from :func:`~.facts.dead_rows`): dead at init = negative biases;
    dead for good."""
    mismatches = sum(r["dead at init"] != r["negative biases"] for r in rows)
    later_fewer = sum(r["dead, least later"] < r["dead at init"] for r in rows)
    dead0 = [r["dead at init"] for r in rows]
    units = WIDTH * len(rows)
    return [
        Claim(
            "relu-dead-equals-negative-bias",
            "relu, zero weights, N(0,1) biases: the fraction of dead units of every hidden layer at init "
            "equals the fraction of its biases ≤ 0 (about half)",
            count_verdict(len(rows), mismatches),
            {
                "layers checked": len(rows),
                "mismatches": mismatches,
                "pooled dead fraction": float(np.mean(dead0)) if dead0 else math.nan,
                "binomial 99% half-width": 2.576 * math.sqrt(0.25 / units) if units else math.nan,
            },
            "the negative-bias fractions are re-derived from each run's stored config and seed",
        ),
        Claim(
            "relu-dead-stay-dead",
            "relu, zero weights, N(0,1) biases: no hidden layer ever has fewer dead units than at init (the "
            "units with a negative bias get no gradient and stay dead)",
            count_verdict(len(rows), later_fewer),
            {
                "layers checked": len(rows),
                "layers with fewer dead later": later_fewer,
                "last recorded step": max((r["last step"] for r in rows), default=0),
            },
        ),
    ]
