"""The update-order study end to end on a cut-down grid: real digits runs, stored probe rows, verdicts."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from initlab.report import load_runs
from initlab.store import Store
from initlab.studies import StudyReport, report_study, run_study, update_order
from initlab.studies.update_order import PresetSettings


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, StudyReport]]:
    """Depths 5 and 7, both optimizers and activations, zero weights and the default, one seed, 54 steps."""
    store = tmp_path_factory.mktemp("update-order") / "r.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(update_order, "DEPTHS", [5, 7])
        patch.setitem(
            update_order.PRESET_SETTINGS, "quick", PresetSettings(epochs=6, seeds=1, signal_every=10)
        )
        summary = run_study("update-order", "quick", store, workers=1, threads=1)
        assert (summary.finished, summary.failed) == (16, 0)
        yield store, report_study("update-order", "quick", store)


@pytest.mark.slow
def test_the_order_is_exact_with_adam_and_breaks_by_underflow_with_sgd(
    study: tuple[Path, StudyReport],
) -> None:
    _, result = study
    claims = {c.name: c for c in result.claims}
    for activation in ("tanh", "relu"):
        assert claims[f"order-exact/adam/{activation}"].verdict == "holds"
        sgd = claims[f"order-exact/sgd/{activation}"]
        assert sgd.verdict == "fails", sgd.numbers  # float32 underflow at depth 7
        assert sgd.numbers["exact in every run up to depth"] == 5
        assert sgd.numbers["first mismatch, input→head"].startswith("depth 7 seed 0:")
    for name in (
        "order-never-early",
        "default-all-at-step-0",
        "rank-one-after-first-update/sgd",
        "zero-weights-distinct-units",
        "rank-after-50-steps/sgd/tanh",
        "relu-dead-equals-negative-bias",
        "relu-dead-stay-dead",
    ):
        assert claims[name].verdict == "holds", (name, claims[name].numbers)
    assert all("quick preset" in c.note for c in result.claims)


def test_claim_numbers_are_the_stored_rows(study: tuple[Path, StudyReport]) -> None:
    store_path, result = study
    claims = {c.name: c for c in result.claims}
    with Store(store_path) as store:
        runs = load_runs(store)
        default = [r for r in runs if r.record.config["init"] == "pytorch-default"]
        tensors = sum(
            1
            for r in default
            for _, row in store.probe_rows(r.id, "update-order", name="grad_norm")
            if row.step == 0
        )
        relu_zero = [
            r
            for r in runs
            if r.record.config["init"] == "zero-weight-random-bias"
            and r.record.config["model_params"]["activation"] == "relu"
        ]
        dead = [
            row.value
            for r in relu_zero
            for _, row in store.probe_rows(r.id, "signal", name="dead_fraction")
            if row.step == 0
        ]
    assert claims["default-all-at-step-0"].numbers["tensors"] == tensors == 2 * (5 + 7) * 4
    pooled = claims["relu-dead-equals-negative-bias"].numbers
    assert pooled["layers checked"] == len(dead) == (4 + 6) * 2
    assert pooled["pooled dead fraction"] == pytest.approx(sum(dead) / len(dead))
    assert 0.3 < pooled["pooled dead fraction"] < 0.7  # about half the units: those with a negative bias


def test_report_has_the_probe_sections_and_the_order_table(study: tuple[Path, StudyReport]) -> None:
    _, result = study
    page = result.path.read_text()
    for title in (
        "Update order (probe update-order)",
        "Gradient distributions (probe grad-dist)",
        "Symmetry and rank (probe symmetry)",
        "Signal propagation (probe signal)",
        "First change step against depth",
        "Why SGD falls behind",
        "Rank growth of zero-initialized layers",
    ):
        assert f"<h2>{title}</h2>" in page, title
    with (result.path.parent / "first_change_steps.csv").open() as f:
        rows = {(r["optimizer"], r["activation"], r["init"], r["depth"]): r for r in csv.DictReader(f)}
    adam = rows["adam", "tanh", "zero-weight-random-bias", "7"]
    assert adam["seed 0 (input→head)"] == "6 5 4 3 2 1 0" and adam["seeds as expected"] == "1/1"
    assert rows["sgd", "tanh", "pytorch-default", "7"]["seed 0 (input→head)"] == "0 0 0 0 0 0 0"
