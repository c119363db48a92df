"""The signal-depth study end to end on a cut-down grid: real MNIST runs, stored signal rows, verdicts."""

from __future__ import annotations

import html
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.report import load_runs
from initlab.store import Store
from initlab.studies import StudyReport, report_study, run_study
from initlab.studies.presets import Budget
from initlab.studies.signal_depth import grid
from initlab.studies.signal_depth.claims import failure_claims
from initlab.studies.signal_depth.facts import cells, run_signal
from initlab.studies.signal_depth.grid import PresetSettings
from initlab.studies.signal_depth.text import failure_text
from initlab.studies.zero_symmetry import majority_fraction

DEPTH = 30


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, StudyReport]]:
    """30-layer width-32 ReLU MLPs from the five inits, one seed, one epoch on 512 MNIST images."""
    store = tmp_path_factory.mktemp("signal-depth") / "r.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grid, "ACTIVATIONS", ("relu",))
        patch.setattr(grid, "CLAIM_DEPTH", DEPTH)
        patch.setitem(grid.PRESET_SETTINGS, "quick", PresetSettings(32, (DEPTH,), Budget(1, 1, 512, 2000)))
        summary = run_study("signal-depth", "quick", store, workers=1, threads=1)
        assert (summary.finished, summary.failed) == (5, 0)
        clipped = collect_clipped_titles(patch)
        result = report_study("signal-depth", "quick", store)
        assert clipped == [], f"figure titles cut off: {clipped}"
        yield store, result


def ratios(store: Store, init: str) -> tuple[float, float]:
    """Input signal and plain std of the last hidden layer over the first, read from the store."""
    run = next(r for r in load_runs(store, init=init))
    at = {(r.layer, r.name): r.value for _, r in store.probe_rows(run.id, "signal") if r.step == 0}
    last = f"act{DEPTH - 1}"
    return (
        at[last, "input_signal"] / at["act1", "input_signal"],
        at[last, "std"] / at["act1", "std"],
    )


@pytest.mark.slow
def test_signal_claims_hold_and_their_numbers_are_the_stored_rows(study: tuple[Path, StudyReport]) -> None:
    store_path, result = study
    claims = {c.name: c for c in result.claims}
    with Store(store_path) as store:
        measured = {init: ratios(store, init) for init in grid.INITS}
    he = claims["he-input-signal-survives"]
    assert he.verdict == "holds" and he.numbers["mean ratio"] == pytest.approx(measured["he-normal"][0])
    vanishes = claims["input-signal-vanishes"]
    assert vanishes.verdict == "holds", vanishes.numbers
    for init in ("pytorch-default", "lecun-normal", "xavier-normal"):
        assert vanishes.numbers[f"{init} mean"] == pytest.approx(measured[init][0])
        assert measured[init][0] < 1e-4 < 1e-2 < measured["he-normal"][0]
    held = claims["default-std-held-up-by-biases"]
    assert held.verdict == "holds" and held.numbers["mean std ratio"] == pytest.approx(
        measured["pytorch-default"][1]
    )


def test_failure_depths_follow_the_stored_accuracies(study: tuple[Path, StudyReport]) -> None:
    store_path, result = study
    claim = next(c for c in result.claims if c.name == "fails-deeper-when-signal-survives/relu")
    majority = majority_fraction("mnist")
    with Store(store_path) as store:
        for run in load_runs(store):
            init = run.record.config["init"]
            key = next((k for k in claim.numbers if k.startswith(f"{init} (")), None)
            if key is None:  # neither survives nor vanishes: orthogonal's ratio may sit between
                continue
            failed = run.final("test_accuracy") < majority + grid.FAIL_MARGIN
            assert claim.numbers[key] == (str(DEPTH) if failed else f"> {DEPTH}"), (init, claim.numbers)
    survivors = [v for k, v in claim.numbers.items() if "survives" in k]
    vanishers = [v for k, v in claim.numbers.items() if "vanishes" in k]

    def depth(text: str) -> float:
        return math.inf if text.startswith(">") else float(text)

    if all(math.isinf(depth(v)) for v in survivors + vanishers):
        assert claim.verdict == "inconclusive"
    else:
        expected = min(map(depth, survivors)) > max(map(depth, vanishers))
        assert claim.verdict == ("holds" if expected else "fails")


def test_report_has_the_makemore_view_and_the_probe_charts(study: tuple[Path, StudyReport]) -> None:
    _, result = study
    page = result.path.read_text()
    for title in (
        "Where training fails",
        f"Per-layer signal at depth {DEPTH} (makemore view)",
        "Signal propagation (probe signal)",
    ):
        assert f"<h2>{title}</h2>" in page, title
    folder = result.path.parent
    for figure in ("depth_signal", "layer_profiles", "layer_distributions", "probe_signal_distributions"):
        assert (folder / f"{figure}.png").stat().st_size > 20_000, figure
    rows = (folder / "failure_depth.csv").read_text().splitlines()
    assert rows[0].startswith("activation,init,fails from depth") and len(rows) == 1 + 5


def test_the_failure_sentence_follows_the_verdict(study: tuple[Path, StudyReport]) -> None:
    store_path, result = study
    with Store(store_path) as store:
        signals = [run_signal(store, run) for run in load_runs(store)]
    assert html.escape(failure_text(result.claims)) in result.path.read_text()

    def sentence(failing: set[str]) -> tuple[str, str]:
        """The claim's verdict and sentence when exactly the inits in ``failing`` fail at every depth."""
        table = cells([replace(s, failed=s.init in failing) for s in signals])
        (claim,) = failure_claims(table)
        return claim.verdict, failure_text([claim])

    verdict, words = sentence({"pytorch-default", "lecun-normal", "xavier-normal"})
    assert verdict == "holds" and words.startswith("relu: the surviving signal trains deeper (")
    assert f"survives: he-normal > {DEPTH}" in words and f"lecun-normal {DEPTH}," in words
    verdict, words = sentence({"he-normal"})
    assert verdict == "fails" and words.startswith("relu: a surviving signal does not train deeper here")
    verdict, words = sentence(set())
    assert verdict == "inconclusive" and words.startswith("relu: nothing to compare")


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    study: tuple[Path, StudyReport], tmp_path: Path
) -> None:
    _, result = study
    check_study_page(tmp_path, result.path)
