"""The residual-zero prose follows the facts: fed facts where a claim holds and where it fails, the
claims' verdicts flip and the sentences that state conclusions change with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from initlab.report import Condition
from initlab.studies.residual_zero.claims import setting_claims
from initlab.studies.residual_zero.facts import (
    Facts,
    GroupHistory,
    Layers,
    RunOrder,
    RunSymmetry,
    SettingFacts,
)
from initlab.studies.residual_zero.text import (
    constant_answer,
    fate,
    history_text,
    resnet_answer,
    short_answer,
)

MAJORITY = 0.1135
CONVS = Layers(("conv1", "conv2"), ("conv1", "conv2"), ("conv1.weight", "conv2.weight", "fc.weight"))
DENSE = Layers(("fc1",), (), ("fc1.weight", "fc2.weight"))


def symmetry(*, whole_init: int = 0, whole_end: int = 0, rank_one: int = 0, grouped: int = 1) -> RunSymmetry:
    """One run's symmetry facts over 2 hidden layers (``grouped``: the largest group at init)."""
    permanent = grouped if whole_init else 1
    grouped_layers, permanent_layers = int(grouped > 1), int(whole_init > 0)
    rank = 1 if rank_one else 8
    return RunSymmetry(
        180, 2, grouped_layers, permanent_layers, whole_init, whole_end, grouped, permanent, rank_one, rank
    )


def history(seed: int, largest: Sequence[int], *, permanent: int = 1, units: int = 16) -> GroupHistory:
    """A layer's largest group at steps 0, 1, 2, 9, 180 (two groups wherever it is split)."""
    distinct = tuple(1 if g == units else 2 if g > 1 else units for g in largest)
    steps = (0, 1, 2, 9, 180)
    return GroupHistory(seed, "layer3.0.branch.conv2", units, permanent, steps, tuple(largest), distinct, 1.0)


def facts(
    init: str,
    layers: Layers,
    runs: Sequence[RunSymmetry],
    accuracies: Sequence[float],
    *,
    histories: Sequence[GroupHistory] = (),
    latest_grad: int | None = 1,
) -> Facts:
    """One condition's facts; ``latest_grad`` None: no weight ever gets a gradient."""
    config = {"init": init, "model_params": {"norm": "none"}}
    order = [RunOrder(len(layers.weights), latest_grad, latest_grad, 0 if latest_grad is not None else 3)]
    condition = Condition(init, f"init={init}", config, {}, ())
    return Facts(
        "digits / resnet-cifar", condition, layers, list(runs), list(histories), order, list(accuracies)
    )


def setting(*conditions: Facts, model: str = "resnet-cifar") -> SettingFacts:
    return SettingFacts("digits", model, MAJORITY, {f.name: f for f in conditions})


def verdicts(s: SettingFacts) -> dict[str, str]:
    return {c.name: c.verdict for c in setting_claims(s)}


DEFAULT = facts("pytorch-default", CONVS, [symmetry()], [0.95, 0.96])


@pytest.mark.parametrize("trains", [True, False])
def test_the_locality_sentence_follows_the_constant_claims(trains: bool) -> None:
    accuracies = [0.9, 0.91] if trains else [0.11, 0.12]
    held = setting(
        facts("constant", CONVS, [symmetry(whole_init=2, rank_one=2, grouped=16)] * 2, accuracies), DEFAULT
    )
    v = verdicts(held)
    assert v["constant-permanent/digits/resnet-cifar"] == "holds"
    assert v["constant-conv-trains/digits/resnet-cifar"] == ("holds" if trains else "fails")
    text = constant_answer(held, v)
    assert text is not None and "locality argument does not hold for channels" in text
    assert ("enough to learn something" in text) is trains and ("does not get far" in text) is not trains

    broken = setting(
        facts("constant", CONVS, [symmetry(whole_init=2, rank_one=1, grouped=16)], accuracies), DEFAULT
    )
    v = verdicts(broken)
    assert v["constant-permanent/digits/resnet-cifar"] == "fails"
    text = constant_answer(broken, v)
    assert text is not None and "does not hold" not in text
    assert "do not contradict the accepted answer's locality argument" in text


def test_the_constant_fnn_sentence_follows_the_collapse_claim() -> None:
    default = facts("pytorch-default", DENSE, [symmetry()], [0.95, 0.96])
    runs = [symmetry(whole_init=2, rank_one=2, grouped=500)]
    for accuracies, words in (([0.3, 0.32], "reaches only"), ([0.94, 0.95], "less than 20 points below")):
        s = setting(facts("constant", DENSE, runs, accuracies), default, model="mnist-fnn")
        v = verdicts(s)
        assert v["constant-collapses/digits/mnist-fnn"] == ("holds" if words == "reaches only" else "fails")
        assert words in (constant_answer(s, v) or "")


@pytest.mark.parametrize("best", [MAJORITY, 0.4])
def test_chance_level_is_said_only_when_zeros_is_at_the_majority_class(best: float) -> None:
    zeros = facts("zeros", CONVS, [symmetry(whole_init=2, whole_end=2, grouped=16)], [MAJORITY, best],
                  latest_grad=None)  # fmt: skip
    s = setting(zeros, DEFAULT)
    v = verdicts(s)
    assert v["zeros-chance/digits/resnet-cifar"] == ("holds" if best == MAJORITY else "fails")
    words = " ".join(resnet_answer(s, v))
    assert ("chance level" in words) is (best == MAJORITY)
    assert ("above the majority class's share" in words) is (best != MAJORITY)
    assert "None of its 3 weights ever gets a gradient" in words


def test_the_first_step_sentence_needs_every_zero_layer_to_separate_at_once() -> None:
    separated = [history(seed, (16, 1, 1, 1, 1)) for seed in (0, 1)]
    persisting = [history(0, (16, 1, 1, 1, 1)), history(1, (16, 2, 2, 2, 2)), history(2, (16, 3, 3, 1, 1))]
    for histories in (separated, persisting):
        branch = facts(
            "zero-last-layer", CONVS, [symmetry(grouped=16)] * 3, [0.95, 0.96], histories=histories
        )
        s = setting(branch, DEFAULT)
        v = verdicts(s)
        assert v["wakes-up/digits/resnet-cifar/zero-last-layer"] == "holds"  # the claim does not test it
        answer = " ".join(short_answer([s], v))
        steps = history_text(branch) or ""
        if histories is separated:
            assert "rows get different updates at the first step" in answer
            assert (
                "2 are all different at the first record after init" in steps and "contradicting" not in steps
            )
        else:
            assert "rows get different updates at the first step" not in answer
            assert (
                "1 are all different at the first record after init, 1 later (the last by step 9) and 1 keep"
                in answer
            )
            kept = "seed 1 layer3.0.branch.conv2: group of 16 (not permanent) keeps 2 identical units"
            assert f"{kept} to step 180" in answer
            assert "1 still hold identical units at the last record, contradicting separation" in steps


@pytest.mark.parametrize("zeros_stay", [True, False])
def test_the_short_answer_contrasts_with_all_zero_init_only_where_it_stays_symmetric(
    zeros_stay: bool,
) -> None:
    branch = facts("rezero", CONVS, [symmetry()] * 2, [0.95, 0.96])
    zeros = facts("zeros", CONVS, [symmetry(whole_init=2, whole_end=2 if zeros_stay else 1, grouped=16)],
                  [MAJORITY], latest_grad=None)  # fmt: skip
    s = setting(zeros, branch, DEFAULT)
    v = verdicts(s)
    assert v["zeros-permanent/digits/resnet-cifar"] == ("holds" if zeros_stay else "fails")
    answer = " ".join(short_answer([s], v))
    assert ("a problem only when the zeroed units are interchangeable" in answer) is zeros_stay
    assert ("zeroing the branch ends leaves no permanent symmetry" in answer) is not zeros_stay
    assert "no hidden layer has two identical units at init" in answer


def test_a_failing_zero_branch_scheme_changes_the_short_answer() -> None:
    stuck = facts("fixup", CONVS, [symmetry(whole_init=1, grouped=16)], [0.5, 0.5], latest_grad=None)
    s = setting(stuck, DEFAULT)
    v = verdicts(s)
    assert v["wakes-up/digits/resnet-cifar/fixup"] == "fails"
    answer = " ".join(short_answer([s], v))
    assert "does not always escape the symmetry" in answer and "never" in answer
    assert "a problem only when the zeroed units are interchangeable" not in answer


def test_a_permanent_group_that_splits_is_told_with_its_sizes_and_step() -> None:
    split = GroupHistory(0, "fc1", 500, 500, (0, 1, 2, 47), (500, 500, 500, 480), (1, 1, 1, 2), 1.0)
    assert fate(split) == (
        "permanent group of 500 splits by step 47 into 480 + 20; largest group 480 at step 47, the last "
        "record (the weight still has rank 1)"
    )
    whole = GroupHistory(1, "fc1", 500, 500, (0, 1, 2, 47), (500,) * 4, (1,) * 4, 1.0)
    assert fate(whole) == "permanent group of 500 stays whole to step 47, the last record"
    constant = facts("constant", DENSE, [symmetry(whole_init=1, rank_one=1, grouped=500)] * 2, [0.3],
                     histories=[split, whole])  # fmt: skip
    text = history_text(constant) or ""
    assert "1 of 2 permanent groups at init (layers counted per seed) stay whole" in text
    assert "seed 0 fc1: permanent group of 500 splits by step 47 into 480 + 20" in text
    s = setting(constant, model="mnist-fnn")
    answer = constant_answer(s, verdicts(s)) or ""
    assert "do not all stay whole, though: seed 0 fc1: permanent group of 500 splits by step 47" in answer
    s = setting(dataclasses.replace(constant, histories=[whole]), model="mnist-fnn")
    assert "stay whole" not in (constant_answer(s, verdicts(s)) or "")


def test_a_scheme_without_finished_runs_is_named_not_concluded_on() -> None:
    measured = facts("zero-last-layer", CONVS, [symmetry(grouped=16)], [0.95, 0.96])
    pending = dataclasses.replace(facts("rezero", CONVS, [], []), order=[])
    s = setting(measured, pending, DEFAULT)
    v = verdicts(s)
    assert v["wakes-up/digits/resnet-cifar/rezero"] == "inconclusive"
    answer = " ".join(short_answer([s], v))
    assert "zeroing the branch ends leaves no permanent symmetry" in answer
    assert "No finished run yet of rezero on digits resnet-20." in answer and "ReZero" not in answer
    assert "rezero: no finished run" in " ".join(resnet_answer(s, v))
