"""The update-order report's sentences that state a conclusion, each chosen from a claim's verdict and
numbers (a claim that fails or has nothing to check gets other words)."""

from __future__ import annotations

from collections.abc import Mapping

from initlab.report import Claim
from initlab.studies.update_order.grid import ACTIVATIONS, OPTIMIZERS, RANK_STEPS

Claims = Mapping[str, Claim]


def _order(claim: Claim | None, setting: str) -> str:
    if claim is None or claim.verdict == "inconclusive":
        return f"{setting}: no run to check"
    n, exact = claim.numbers["runs"], claim.numbers["runs exact"]
    if claim.verdict == "holds":
        return f"{setting}: exactly, in all {n} runs"
    up_to = claim.numbers["exact in every run up to depth"]
    return f"{setting}: in {exact} of {n} runs, every run up to depth {up_to}"


def order_text(claims: Claims) -> str:
    """Where the measured first-change steps follow the diagonal, per optimizer and activation."""
    parts = [_order(claims.get(f"order-exact/{o}/{a}"), f"{o}, {a}") for o in OPTIMIZERS for a in ACTIVATIONS]
    early = claims.get("order-never-early")
    tail = ""
    if early is not None and early.verdict == "holds":
        tail = " No layer changed before its step k."
    elif early is not None and early.verdict == "fails":
        tail = f" {early.numbers['layers changed early']} layers changed before their step k."
    return "Measured, the runs follow it " + "; ".join(parts) + "." + tail


def underflow_title(claims: Claims) -> str:
    """The section's title: why SGD falls behind, if it does."""
    sgd = [claims.get(f"order-exact/sgd/{a}") for a in ACTIVATIONS]
    return "Why SGD falls behind" if any(c and c.verdict == "fails" for c in sgd) else "First gradient sizes"


def underflow_text(claims: Claims) -> str:
    """The mechanism, then what the late layers' recorded gradients say."""
    mechanism = (
        "The first gradient that reaches layer L−k is a product of the k first updates above it. With SGD "
        "each first update is the learning rate times a gradient, so the sizes fall geometrically with k "
        "and can underflow float32; Adam's first update is about lr·sign(g) whatever the gradient's size."
    )
    late = silent = 0
    for activation in ACTIVATIONS:
        claim = claims.get(f"order-exact/sgd/{activation}")
        if claim is not None:
            late += claim.numbers.get("late layers", 0)
            silent += claim.numbers.get("late layers with an exact-0 gradient at step k", 0)
    if late == 0:
        return mechanism + " Here no SGD layer changed late: every first gradient stayed representable."
    if silent == late:
        return (
            mechanism
            + f" Here all {late} SGD layers that changed late had an exact-0 gradient at their step "
            "k: the chain underflowed."
        )
    return (
        mechanism + f" Here {silent} of the {late} SGD layers that changed late had an exact-0 gradient at "
        "their step k; the others had a gradient and still did not change."
    )


def rank_text(claims: Claims) -> str:
    """What the ranks right after the first updates were, with SGD."""
    claim = claims.get("rank-one-after-first-update/sgd")
    head = (
        f"Numerical rank of each weight matrix over the first {RANK_STEPS} steps. A matrix is rank 0 until "
    )
    if claim is None or claim.verdict == "inconclusive":
        return head + "its first change; no SGD first update could be checked for rank 1."
    n, ones = claim.numbers["layers checked"], claim.numbers["rank 1"]
    if claim.verdict == "holds":
        return head + f"its first change, then rank 1: with SGD, all {n} representable first updates were."
    return head + f"its first change; with SGD only {ones} of {n} representable first updates were rank 1."


def dead_text(claims: Claims) -> str:
    """Dead ReLU units at init against negative biases, and whether any came back."""
    equal, stay = claims.get("relu-dead-equals-negative-bias"), claims.get("relu-dead-stay-dead")
    if equal is None or stay is None or equal.verdict == "inconclusive":
        return "No ReLU run with zero weights recorded its dead units."
    n = equal.numbers["layers checked"]
    first = (
        f"In all {n} hidden layers checked, the dead fraction at init equals the fraction of negative biases"
        if equal.verdict == "holds"
        else f"In {equal.numbers['mismatches']} of {n} hidden layers the dead fraction at init differs from "
        "the fraction of negative biases"
    )
    fewer = stay.numbers["layers with fewer dead later"]
    second = (
        "no layer had fewer dead units later: they stay dead."
        if stay.verdict == "holds"
        else f"{fewer} layers had fewer dead units later: some came back."
    )
    return f"{first}; {second}"
