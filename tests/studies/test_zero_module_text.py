"""The zero-module claims and prose from hand-made facts: each verdict follows the data, and the words
of the answer change with the verdicts."""

from __future__ import annotations

import dataclasses
from typing import Any

from initlab.studies.zero_module.claims import all_claims, order_mismatches
from initlab.studies.zero_module.facts import Facts, Layers, RunFacts
from initlab.studies.zero_module.text import (
    constant_answer,
    double_answer,
    order_answer,
    symmetry_answer,
    training_answer,
)

LAYERS = Layers(
    zeroed=("block.last", "out"),
    feeding=("block.first",),
    weights=("block.first.weight", "block.last.weight", "out.weight"),
    predicted={"out.weight": 0, "block.last.weight": 1, "block.first.weight": 2},
)


def rows(units: int, group: int, permanent: int = 1, rank: float = 0.0) -> dict[str, float]:
    return {"units": units, "largest_group": group, "permanent_largest_group": permanent, "rank": rank,
            "effective_rank": max(rank, 1.0)}  # fmt: skip


def run(**changes: Any) -> RunFacts:
    base = RunFacts(
        seed=0,
        steps=6,
        symmetry={
            0: {"block.last": rows(8, 8), "out": rows(1, 1), "block.first": rows(8, 8, rank=1.0)},
            1: {"block.last": rows(8, 8), "out": rows(1, 1), "block.first": rows(8, 8, rank=1.0)},
            2: {
                "block.last": rows(8, 1, rank=8),
                "out": rows(1, 1, rank=1),
                "block.first": rows(8, 8, rank=1.0),
            },
        },
        first_grad={"out.weight": 0, "block.last.weight": 1, "block.first.weight": 2},
        first_change={"out.weight": 0, "block.last.weight": 1, "block.first.weight": 2},
        init_loss=1.0,
        zero_loss=1.0,
        loss=0.5,
        frechet=10.0,
        loss_curve={0: 1.0, 6: 0.5},
        frechet_curve={6: 10.0},
        samples=None,
    )
    return dataclasses.replace(base, **changes)


def facts(name: str, *runs: RunFacts) -> Facts:
    return Facts(name, None, LAYERS, tuple(runs or (run(),)))  # type: ignore[arg-type]


def verdicts(conditions: dict[str, Facts]) -> dict[str, str]:
    return {c.name: c.verdict for c in all_claims(conditions)}


def test_zero_module_claims_hold_on_good_records_and_fail_on_bad_ones() -> None:
    good = verdicts({"zero-module": facts("zero-module")})
    assert good == {"identity-at-init": "holds", "no-permanent-symmetry": "holds", "update-order": "holds"}
    permanent = run(
        symmetry={**run().symmetry, 0: {**run().symmetry[0], "block.last": rows(8, 8, permanent=8)}}
    )
    late = run(first_grad={**run().first_grad, "block.last.weight": 3})
    bad = verdicts({"zero-module": facts("zero-module", run(init_loss=1.0 + 1e-7), permanent, late)})
    assert bad == {"identity-at-init": "fails", "no-permanent-symmetry": "fails", "update-order": "fails"}
    assert order_mismatches(facts("zero-module", late)) == {"block.last.weight": (1, 3)}


def test_the_answer_follows_the_verdicts() -> None:
    good = {c.name: c for c in all_claims({"zero-module": facts("zero-module")})}
    words = " ".join(symmetry_answer(good) + order_answer(good, {}))
    assert "Yet it has no symmetry problem" in words and "exactly zero at init" in words
    assert "The update order is as predicted" in words
    permanent = run(
        symmetry={**run().symmetry, 0: {**run().symmetry[0], "block.last": rows(8, 8, permanent=8)}}
    )
    late = run(first_grad={**run().first_grad, "block.last.weight": 3})
    bad_facts = facts("zero-module", permanent, late)
    bad = {c.name: c for c in all_claims({"zero-module": bad_facts})}
    words = " ".join(symmetry_answer(bad) + order_answer(bad, order_mismatches(bad_facts)))
    assert "did leave a symmetry here" in words and "no symmetry problem" not in words
    assert "block.last.weight (1 predicted, 3 seen)" in words


def test_constant_filters_double_zero_and_training_words() -> None:
    split = run(symmetry={**run().symmetry, 2: {**run().symmetry[2], "block.first": rows(8, 3, rank=2.0)}})
    conditions = {
        "constant/adam": facts("constant/adam"),
        "constant/sgd": facts("constant/sgd", split),
        "constant+dropout": facts("constant+dropout", split),
        "two zero modules": facts("two zero modules", run(first_grad={"out.weight": 0})),
    }
    claims = {c.name: c for c in all_claims(conditions)}
    assert claims["constant-one-group/adam"].verdict == "holds"
    assert claims["constant-one-group/sgd"].verdict == "fails"
    assert claims["constant-broken/dropout"].verdict == "holds"
    assert claims["double-zero-stays-zero"].verdict == "holds"
    words = " ".join(constant_answer(claims) + double_answer(claims))
    assert (
        "did not stay one group in every run" in words and "with dropout the channels had separated" in words
    )
    assert "no zeroed weight moved in 6 steps" in words
    moved = all_claims(
        {"two zero modules": facts("two zero modules", run(first_grad={"block.last.weight": 4}))}
    )
    assert (
        moved[0].verdict == "fails"
        and "1 zeroed weights did move" in double_answer({moved[0].name: moved[0]})[0]
    )
    held = {c.name: c for c in all_claims({"constant/adam": facts("constant/adam")})}
    assert "Locality separates positions, not channels" in " ".join(constant_answer(held))


def training(zm: list[float], default: list[float]) -> dict[str, Any]:
    def of(name: str, losses: list[float]) -> Facts:
        return facts(name, *(run(seed=i, loss=v, frechet=20 * v) for i, v in enumerate(losses)))

    conditions = {
        "training/zero-module": of("training/zero-module", zm),
        "training/pytorch-default": of("training/pytorch-default", default),
    }
    return {c.name: c for c in all_claims(conditions)}


def test_training_verdict_and_words_follow_the_losses() -> None:
    tie = training([0.500, 0.501, 0.499], [0.500, 0.502, 0.498])
    assert tie["training/loss"].verdict == "holds" and "ties with" in training_answer(tie)[0]
    better = training([0.30, 0.31, 0.29], [0.50, 0.51, 0.49])
    assert better["training/loss"].verdict == "fails" and "beats" in training_answer(better)[0]
    worse = training([0.70, 0.71, 0.69], [0.50, 0.51, 0.49])
    assert "loses to" in training_answer(worse)[0]
    noisy = training([0.3, 0.9, 0.5], [0.50, 0.51, 0.49])
    assert (
        noisy["training/loss"].verdict == "inconclusive"
        and "cannot be told apart" in training_answer(noisy)[0]
    )
