"""The zero-symmetry study end to end on a cut-down grid: real MNIST, stored runs, computed verdicts."""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.store import Store
from initlab.studies import StudyReport, report_study, run_study, zero_symmetry
from initlab.studies.presets import full, quick
from initlab.studies.zero_symmetry import FNN_INITS, Setting, gap_text, trains_text, zeros_text


@pytest.fixture(scope="module")
def study_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, StudyReport]]:
    store = tmp_path_factory.mktemp("zero-symmetry") / "r.db"
    budgets = {"quick": quick(2, 2, 8000), "full": full(10)}
    tiny = (Setting("mnist-fnn", "mnist", "mnist-fnn", FNN_INITS, budgets),)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zero_symmetry, "SETTINGS", tiny)
        summary = run_study("zero-symmetry", "quick", store, workers=1, threads=2)
        assert (summary.finished, summary.failed) == (10, 0)
        again = run_study("zero-symmetry", "quick", store, workers=1)  # resumes: nothing left to run
        assert (again.skipped, again.ran) == (10, 0)
        clipped = collect_clipped_titles(patch)
        result = report_study("zero-symmetry", "quick", store)
        assert clipped == [], f"figure titles cut off: {clipped}"
        yield store, result


@pytest.mark.slow
def test_claims_are_computed_from_the_stored_runs(study_store: tuple[Path, StudyReport]) -> None:
    store_path, result = study_store
    claims = {c.name: c for c in result.claims}
    zeros = claims["zeros-majority/mnist/mnist-fnn"]
    assert zeros.verdict == "holds"
    with Store(store_path) as store:
        accs = [r.summary["test_accuracy"] for r in store.runs(init="zeros")]
    assert zeros.numbers["best accuracy"] == max(accs) == pytest.approx(0.1135, abs=1e-4)
    assert zeros.numbers["majority"] == pytest.approx(1135 / 10000)
    for dist in ("normal", "uniform"):
        trains = claims[f"random-bias-trains/mnist/mnist-fnn/{dist}"]
        assert trains.verdict == "holds", trains.numbers
        print(f"{dist}: {trains.numbers}")
    assert claims["near-default/mnist/mnist-fnn/normal"].verdict in ("holds", "inconclusive", "fails")
    assert all("quick preset" in c.note for c in result.claims)


def test_report_has_the_claims_the_curves_and_the_seed_study_table(
    study_store: tuple[Path, StudyReport],
) -> None:
    _, result = study_store
    page = result.path.read_text()
    assert "Claims" in page and "Against the seed study" in page
    assert "curves_test_accuracy_mnist_mnist-fnn.png" in page
    rows = (result.path.parent / "seed_study.csv").read_text().splitlines()
    assert rows[0].startswith("dataset,model,init,epochs,initlab")
    assert any(",default,2," in row and row.endswith(",0.976") for row in rows)


def test_the_sentences_follow_the_verdicts_and_change_where_the_claims_fail(
    study_store: tuple[Path, StudyReport], tmp_path: Path
) -> None:
    store_path, result = study_store
    page = result.path.read_text()
    for sentence in (zeros_text(result.claims), trains_text(result.claims), gap_text(result.claims)):
        assert html.escape(sentence) in page
    assert zeros_text(result.claims) == "All-zero init stays at the majority class (mnist mnist-fnn)."
    assert (result.path.parent / "gap_to_default.png").is_file()

    worse = tmp_path / "worse.db"  # the same runs, with random biases 30 points worse and zeros at 0.5
    source, db = sqlite3.connect(store_path), sqlite3.connect(worse)
    source.backup(db)
    source.close()
    accuracy = "UPDATE metrics SET value = {} WHERE split = 'test' AND name = 'accuracy' AND run_id IN "
    with db:
        db.execute(
            accuracy.format("value - 0.3") + "(SELECT id FROM runs WHERE init = 'zero-weight-random-bias')"
        )
        db.execute(accuracy.format("0.5") + "(SELECT id FROM runs WHERE init = 'zeros')")
    db.close()
    report = report_study("zero-symmetry", "quick", worse, tmp_path / "report")
    claims = {c.name: c for c in report.claims}
    assert claims["zeros-majority/mnist/mnist-fnn"].verdict == "fails"
    assert {claims[f"near-default/mnist/mnist-fnn/{d}"].verdict for d in ("normal", "uniform")} == {"fails"}
    page = report.path.read_text()
    assert (
        "All-zero init stays at the majority class in 0 of 1 settings; it beats it in mnist mnist-fnn."
        in page
    )
    assert (
        "Random biases end within 2 points of the default in 0 of 2 settings; they end further behind in "
        "mnist mnist-fnn with normal biases, mnist mnist-fnn with uniform biases." in page
    )


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    study_store: tuple[Path, StudyReport], tmp_path: Path
) -> None:
    _, result = study_store
    check_study_page(tmp_path, result.path)
