"""The update-order study end to end on a cut-down grid: real digits runs, stored probe rows, verdicts."""

from __future__ import annotations

import csv
import html
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.report import Claim, load_runs
from initlab.store import Store
from initlab.studies import StudyReport, report_study, run_study
from initlab.studies.presets import Budget
from initlab.studies.update_order import grid, text
from initlab.studies.update_order.claims import dead_unit_claims, order_claims, rank_claims
from initlab.studies.update_order.facts import RunFacts, dead_rows, run_facts
from initlab.studies.update_order.grid import expected_steps


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, StudyReport]]:
    """Depths 5 and 7, both optimizers and activations, zero weights and the default, one seed, 54 steps."""
    store = tmp_path_factory.mktemp("update-order") / "r.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grid, "DEPTHS", [5, 7])
        patch.setitem(grid.BUDGETS, "quick", Budget(epochs=6, seeds=1))
        summary = run_study("update-order", "quick", store, workers=1, threads=1)
        assert (summary.finished, summary.failed) == (16, 0)
        clipped = collect_clipped_titles(patch)
        result = report_study("update-order", "quick", store)
        assert clipped == [], f"figure titles cut off: {clipped}"
        yield store, result


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
    folded = '<details class="section"><summary><h2>Update order (probe update-order)</h2>'
    assert folded in page and page.index("<h2>Rank growth") < page.index(folded)  # the study's own first
    assert "<h2>Test accuracy per epoch" not in page  # small multiples instead of a chart per setting
    with (result.path.parent / "first_change_steps.csv").open() as f:
        rows = {(r["optimizer"], r["activation"], r["init"], r["depth"]): r for r in csv.DictReader(f)}
    adam = rows["adam", "tanh", "zero-weight-random-bias", "7"]
    assert adam["seed 0 (input→head)"] == "6 5 4 3 2 1 0" and adam["seeds as expected"] == "1/1"
    assert rows["sgd", "tanh", "pytorch-default", "7"]["seed 0 (input→head)"] == "0 0 0 0 0 0 0"


def stored_facts(store_path: Path) -> list[RunFacts]:
    with Store(store_path) as store:
        return [run_facts(store, run) for run in load_runs(store)]


def claims_of(facts: list[RunFacts]) -> dict[str, Claim]:
    return {
        c.name: c for c in [*order_claims(facts), *rank_claims(facts), *dead_unit_claims(dead_rows(facts))]
    }


def test_the_sentences_follow_the_stored_facts(study: tuple[Path, StudyReport]) -> None:
    store_path, result = study
    facts = stored_facts(store_path)
    claims = claims_of(facts)
    assert "adam, tanh: exactly, in all 2 runs" in text.order_text(claims)
    assert "sgd, tanh: in 1 of 2 runs, every run up to depth 5" in text.order_text(claims)
    assert text.underflow_title(claims) == "Why SGD falls behind"
    late = claims["order-exact/sgd/tanh"].numbers["late layers"]
    assert late > 0 and "had an exact-0 gradient at their step k" in text.underflow_text(claims)
    assert "then rank 1: with SGD, all" in text.rank_text(claims)
    assert "they stay dead" in text.dead_text(claims)
    page = result.path.read_text()
    for sentence in (text.order_text(claims), text.underflow_text(claims), text.dead_text(claims)):
        assert html.escape(sentence) in page


def test_the_sentences_change_where_the_claims_fail(study: tuple[Path, StudyReport]) -> None:
    facts = stored_facts(study[0])
    # every zero-weight run exact: SGD no longer falls behind
    exact = [replace(f, first_change=expected_steps(f.depth)) if f.zero else f for f in facts]
    claims = claims_of(exact)
    assert claims["order-exact/sgd/tanh"].verdict == "holds"
    assert text.underflow_title(claims) == "First gradient sizes"
    assert "no SGD layer changed late" in text.underflow_text(claims)
    # an Adam run whose head never changed, and a layer that changed early
    broken = [
        replace(f, first_change=[0, *f.first_change[1:-1], None])
        if (f.zero, f.optimizer, f.depth) == (True, "adam", 7)
        else f
        for f in facts
    ]
    claims = claims_of(broken)
    assert claims["order-exact/adam/tanh"].verdict == "fails"
    words = text.order_text(claims)
    assert "adam, tanh: in 1 of 2 runs, every run up to depth 5" in words
    assert "layers changed before their step k" in words
    # rank 2 right after every first update; dead units that come back
    ranked = [
        replace(f, rank={layer: dict.fromkeys(steps, 2.0) for layer, steps in f.rank.items()}) for f in facts
    ]
    assert "with SGD only 0 of" in text.rank_text(claims_of(ranked))
    revived = [
        replace(f, dead={layer: {**steps, 10**6: 0.0} for layer, steps in f.dead.items()}) for f in facts
    ]
    assert "some came back" in text.dead_text(claims_of(revived))


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    study: tuple[Path, StudyReport], tmp_path: Path
) -> None:
    _, result = study
    check_study_page(tmp_path, result.path)
