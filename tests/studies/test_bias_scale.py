"""The bias-scale study on a tiny real grid (sklearn digits, an ELU MLP): its verdicts, that its
numbers are the store's, and its report; the verdict helpers it uses; its prose, which follows the
verdicts; and its figures, drawn only where runs were made and within each value's range."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.report import Condition, group_conditions, load_runs
from initlab.store import Store
from initlab.studies import Preset, get_study, report_study, run_study
from initlab.studies.bias_scale import ScaleResult, drops, jaggedness, outcome_claim, sweeps
from initlab.studies.bias_scale.claims import setting_claims
from initlab.studies.bias_scale.figures import (
    ACCURACY_RANGE,
    JAGGEDNESS_RANGE,
    clipped_error_bars,
    plot_against_scale,
    plot_single_runs,
)
from initlab.studies.bias_scale.text import seed_study_text
from initlab.studies.verdicts import any_of, variance_ratio_ci

TINY = {
    "name": "digits-mlp",
    "base": {
        "dataset": "digits",
        "model": "mlp",
        "model_params": {"depth": 2, "width": 64, "activation": "elu"},
        "init": "zero-weight-random-bias",
        "init_params": {"dist": "normal"},
        "lr": 0.01,
        "epochs": 15,
    },
    "axes": {"init_params.scale": [1.0, 100.0], "seed": "0..2"},
}


def test_jaggedness_counts_only_the_drops() -> None:
    assert jaggedness([0.1, 0.5, 0.4, 0.6, 0.3]) == pytest.approx(0.1 + 0.3)
    assert drops([0.1, 0.5, 0.4, 0.6, 0.3]) == 2
    assert jaggedness([0.1, 0.2, 0.9, 0.95]) == 0.0 and drops([0.1, 0.2, 0.9, 0.95]) == 0


def test_variance_ratio_interval_is_the_f_interval() -> None:
    a, b = [0.1, 0.4, 0.2, 0.9], [0.5, 0.52, 0.49]
    r = variance_ratio_ci(a, b)
    ratio = np.var(a, ddof=1) / np.var(b, ddof=1)
    assert r.estimate == pytest.approx(ratio)
    assert r.low == pytest.approx(ratio / stats.f.ppf(0.975, 3, 2))
    assert r.high == pytest.approx(ratio * stats.f.ppf(0.975, 2, 3))
    assert math.isnan(variance_ratio_ci([1.0], b).low)
    assert variance_ratio_ci(a, [0.3, 0.3]).low == math.inf
    assert [any_of(v) for v in (["fails", "holds"], ["fails", "inconclusive"], ["fails"], [])] == [
        "holds",
        "inconclusive",
        "fails",
        "inconclusive",
    ]


def test_presets_sweep_the_seed_study_settings() -> None:
    full = {part["name"]: part for part in sweeps("full")}
    assert set(full) == {"mnist-fnn", "mnist-cnn"}
    for part, epochs in (("mnist-fnn", 10), ("mnist-cnn", 15)):
        base = full[part]["base"]
        assert (base["dataset"], base["optimizer"], base["lr"], base["batch_size"]) == (
            "mnist",
            "adam",
            1e-3,
            128,
        )
        assert base["epochs"] == epochs and "train_size" not in base
        assert full[part]["axes"] == {"init_params.scale": [0.01, 0.1, 1.0, 10.0, 100.0], "seed": "0..4"}
    quick = {part["name"]: part["axes"]["init_params.scale"] for part in sweeps("quick")}
    assert {1.0, 100.0} <= set(quick["mnist-cnn"]) and len(quick["mnist-fnn"]) == 5


def _result(
    model: str, accuracies: list[float], jagged: list[float] | None = None, scale: float = 100.0
) -> ScaleResult:
    config = {"dataset": "mnist", "model": model, "init_params": {"scale": scale}}
    jagged = jagged if jagged is not None else []
    return ScaleResult(
        Condition(f"{model}-{scale}", model, config, {}, ()), accuracies, jagged, [1] * len(jagged)
    )


def _at_scale_100(model: str, accuracies: list[float]) -> ScaleResult:
    return _result(model, accuracies)


@pytest.mark.parametrize(
    ("model", "accuracies", "claim", "verdict"),
    [
        ("mnist-cnn", [0.1032, 0.1028], "stuck-at-chance", "holds"),  # the seed study's CNN: .10
        ("mnist-cnn", [0.1032, 0.6], "stuck-at-chance", "fails"),
        ("mnist-fnn", [0.859, 0.8163, 0.8644], "still-trains", "holds"),  # the seed study's FNN: .86
        ("mnist-fnn", [0.859, 0.2], "still-trains", "fails"),
        ("mnist-fnn", [], "still-trains", "inconclusive"),
        ("mlp", [0.5], "stuck-at-chance", "fails"),  # a model the seed study did not train
    ],
)
def test_where_scale_100_ends_is_checked_against_the_seed_studys_outcome(
    model: str, accuracies: list[float], claim: str, verdict: str
) -> None:
    result = outcome_claim("mnist " + model, "mnist/" + model, _at_scale_100(model, accuracies))
    assert (result.name, result.verdict) == (f"{claim}/mnist/{model}", verdict)
    assert result.numbers["majority"] == pytest.approx(0.1135)


def _final(store: Store, run_id: str) -> float:
    return [m.value for m in store.metrics(run_id) if (m.split, m.name) == ("test", "accuracy")][-1]


def _curve(store: Store, run_id: str) -> list[float]:
    rows = [m for m in store.metrics(run_id) if (m.split, m.name) == ("test", "accuracy")]
    return [m.value for m in sorted(rows, key=lambda m: m.epoch)]


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    study = dataclasses.replace(get_study("bias-scale"), sweeps=lambda preset: [TINY])
    store = tmp_path_factory.mktemp("bias-scale") / "runs.db"
    summary = run_study(study, "full", store, workers=1, threads=1)
    assert summary.runs == 6
    with pytest.MonkeyPatch.context() as patch:
        clipped = collect_clipped_titles(patch)
        result = report_study(study, "full", store)
    assert clipped == [], f"figure titles cut off: {clipped}"
    return store, result


def test_scale_100_is_lower_and_more_jagged_than_scale_1(tiny_study: tuple[Path, Any]) -> None:
    """On digits (Adam 0.01, 15 epochs), biases of scale 100 leave the MLP far behind scale 1, with
    a curve that keeps dropping."""
    _, result = tiny_study
    verdicts = {c.name: c.verdict for c in result.claims}
    assert verdicts["lower-accuracy/digits/mlp"] == "holds"
    assert verdicts["more-jagged/digits/mlp"] == "holds"
    assert verdicts["unstable/digits/mlp"] == "holds"
    assert verdicts["stuck-at-chance/digits/mlp"] == "fails"  # unlike the seed study's CNN, it learns a bit
    assert set(verdicts) == {
        f"{k}/digits/mlp"
        for k in ("lower-accuracy", "more-jagged", "more-variable", "stuck-at-chance", "unstable")
    }


def test_claim_numbers_are_the_stored_results(tiny_study: tuple[Path, Any]) -> None:
    path, result = tiny_study
    claims = {c.name: c for c in result.claims}
    with Store(path) as store:
        runs = {
            scale: [r for r in store.runs() if r.config["init_params"]["scale"] == scale]
            for scale in (1.0, 100.0)
        }
        accs = {s: [_final(store, r.id) for r in rs] for s, rs in runs.items()}
        jagged = {s: [jaggedness(_curve(store, r.id)) for r in rs] for s, rs in runs.items()}
    lower, jag = claims["lower-accuracy/digits/mlp"].numbers, claims["more-jagged/digits/mlp"].numbers
    assert lower["acc(1)"] == pytest.approx(np.mean(accs[1.0]), abs=1e-12)
    assert lower["acc(100)"] == pytest.approx(np.mean(accs[100.0]), abs=1e-12)
    assert jag["J(100)"] == pytest.approx(np.mean(jagged[100.0]), abs=1e-12)
    assert claims["more-variable/digits/mlp"].numbers["var(100)"] == pytest.approx(
        np.var(accs[100.0], ddof=1)
    )


def test_the_report_holds_the_plots_and_the_stability_table(tiny_study: tuple[Path, Any]) -> None:
    _, result = tiny_study
    folder = result.path.parent
    page = result.path.read_text()
    titles = ("Against the seed study", "Claims", "Stability against the bias scale", "Single runs at bias")
    at = [page.index(f"<h2>{title}") for title in titles]
    assert at == sorted(at)  # the report opens with the comparison with the seed study, then the claims
    for figure in ("accuracy_vs_bias_scale", "jaggedness_vs_bias_scale", "single_runs_digits_mlp"):
        assert (folder / f"{figure}.png").stat().st_size > 10_000
    lines = (folder / "stability.csv").read_text().splitlines()
    assert lines[0].startswith("setting,bias_scale,runs,finished,diverged,accuracy") and len(lines) == 3


def _texts(results: dict[str, dict[float, ScaleResult]], preset: Preset = "full") -> str:
    claims = {c.name: c for setting, by_scale in results.items() for c in setting_claims(setting, by_scale)}
    return " ".join(t.text for t in seed_study_text(results, claims, preset))


def test_the_conclusion_follows_the_verdicts() -> None:
    """Fed scale-100 runs that are lower and jagged, then runs like scale 1's, the words flip."""
    ref = _result("mnist-fnn", [0.97, 0.971, 0.969], [0.0, 0.01, 0.0], scale=1.0)
    unstable = {
        "mnist mnist-fnn": {1.0: ref, 100.0: _result("mnist-fnn", [0.86, 0.80, 0.88], [0.2, 0.3, 0.25])}
    }
    text = _texts(unstable)
    assert "large biases are unstable here, as the seed study found" in text
    assert "a lower final accuracy (or divergence), a more jagged curve" in text
    assert "every run still trains far above chance, as the seed study's did (about 0.86)" in text
    assert "Compare like with like" not in text and "Compare like with like" in _texts(unstable, "quick")

    steady = {
        "mnist mnist-fnn": {1.0: ref, 100.0: _result("mnist-fnn", [0.98, 0.981, 0.979], [0.0, 0.0, 0.01])}
    }
    text = _texts(steady)
    assert "large biases are not unstable here by this test, unlike what the seed study found" in text
    assert "a final accuracy no lower than at scale 1" in text
    assert "unstable here, as the seed study found" not in text

    cnn = _result("mnist-cnn", [0.97, 0.98], [0.0, 0.0], scale=1.0)
    stuck = {"mnist mnist-cnn": {1.0: cnn, 100.0: _result("mnist-cnn", [0.5, 0.6], [0.0, 0.0])}}
    assert "unlike the seed study's (about 0.10), not every run ends at chance" in _texts(stuck)


def test_error_bars_stay_within_the_values_range() -> None:
    bars = clipped_error_bars(np.array([0.01, 0.5, np.nan]), np.array([0.05, 0.05, np.nan]), JAGGEDNESS_RANGE)
    assert bars[:, 0] == pytest.approx([0.01, 0.05])  # cut at J = 0 below, whole above
    assert bars[:, 1] == pytest.approx([0.05, 0.05]) and (bars[:, 2] == 0).all()
    assert clipped_error_bars(np.array([0.99]), np.array([0.05]), ACCURACY_RANGE)[1, 0] == pytest.approx(0.01)


def test_a_model_is_drawn_only_at_the_scales_it_ran() -> None:
    """The FNN ran every scale, the CNN only 1 and 100: the CNN's line has no point, so no segment,
    at 0.01, 0.1 or 10, and no jaggedness error bar reaches below 0."""
    fnn = {s: _result("mnist-fnn", [0.9, 0.8], [0.0, 0.05], scale=s) for s in (0.01, 0.1, 1.0, 10.0, 100.0)}
    cnn = {s: _result("mnist-cnn", [0.9, 0.5], [0.0, 0.02], scale=s) for s in (1.0, 100.0)}
    fig = plot_against_scale(
        {"mnist mnist-fnn": fnn, "mnist mnist-cnn": cnn},
        lambda r: r.jagged,
        label="J",
        value_range=JAGGEDNESS_RANGE,
        title="t",
    )
    top = fig.axes[0]
    lines = {c.get_label(): c for c in top.containers}
    y = np.asarray(lines["mnist mnist-cnn"].lines[0].get_ydata(), dtype=float)
    assert np.isnan(y).tolist() == [True, True, False, True, False]
    assert np.isfinite(np.asarray(lines["mnist mnist-fnn"].lines[0].get_ydata(), dtype=float)).all()
    bars = [np.reshape(seg, (-1, 2)) for c in lines.values() for seg in c.lines[2][0].get_segments()]
    assert (
        np.nanmin(np.concatenate(bars)[:, 1]) == 0.0
    )  # J's interval at (0, 0.05) reaches below 0; its bar stops at 0
    styles = {(c.lines[0].get_marker(), c.lines[0].get_linestyle()) for c in lines.values()}
    assert len(styles) == 2  # overlapping points stay told apart


def test_the_single_runs_figure_draws_each_run_apart(tiny_study: tuple[Path, Any]) -> None:
    path, _ = tiny_study
    with Store(path) as store:
        results = [ScaleResult.of(c) for c in group_conditions(load_runs(store))]
    ax = plot_single_runs(results, title="t").axes[0]
    assert "mean" not in ax.get_ylabel() and "CI" not in ax.get_ylabel()
    assert len(ax.lines) == 6
    drawn = {(line.get_color(), line.get_marker(), line.get_linestyle()) for line in ax.lines}
    assert len(drawn) == 6  # colour: scale; marker and line style: seed


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    tiny_study: tuple[Path, Any], tmp_path: Path
) -> None:
    _, result = tiny_study
    check_study_page(tmp_path, result.path)
