"""Figures draw exactly the numbers of their tidy tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from initlab.errors import ConfigError
from initlab.report.figures import plot_curves, plot_final, plot_metric_vs_param, png_bytes
from initlab.report.runs import group_conditions, load_runs
from initlab.report.tables import Table, curve_table, final_table, run_table
from initlab.store import Store
from report_stores import Stores


def _conditions(path: Path):
    with Store(path) as store:
        return group_conditions(load_runs(store))


def test_curves_plot_each_conditions_mean_and_band(stores: Stores) -> None:
    conditions = _conditions(stores.main)
    curves, final = curve_table(conditions), final_table(conditions)
    rc_before = dict(matplotlib.rcParams)
    fig = plot_curves(curves, final=final)
    assert dict(matplotlib.rcParams) == rc_before  # the report's style does not leak
    (ax,) = fig.axes
    lines = [line for line in ax.get_lines() if len(line.get_xdata())]
    assert len(lines) == 4 and len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 4
    for line, condition in zip(lines, conditions, strict=True):
        assert list(line.get_ydata()) == curves.where(condition=condition.label).column("mean")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[3] == (  # both stay at the majority class, epoch by epoch: the legend says so
        "init=zero-weight-random-bias(dist=normal) (identical to init=zeros)  (n=2; 1 diverged; 1 failed)"
    )
    assert (
        ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test accuracy\n(mean; band: seeds' range (n < 4))"
    )
    assert len({(line.get_marker(), line.get_linestyle()) for line in lines}) == 4  # each its own style
    assert png_bytes(fig).startswith(b"\x89PNG\r\n\x1a\n")


def test_final_plot_marks_a_condition_with_no_finished_run(stores: Stores) -> None:
    conditions = _conditions(stores.lr_sweep)
    final, runs = final_table(conditions), run_table(conditions)
    (ax,) = plot_final(final, runs=runs).axes
    means = [line.get_xdata()[0] for line in ax.get_lines() if line.get_marker() == "D"]
    assert means == final.column("mean")[:2]
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_ydata()[0] == 0  # lr=1e6: the bottom row
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["n=2", "n=2", "n=0; 2 diverged"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lr=1e+06", "lr=0.3", "lr=0.03"]


def test_metric_vs_param_marks_diverged_points_on_a_log_axis(stores: Stores) -> None:
    conditions = _conditions(stores.lr_sweep)
    final, runs = final_table(conditions), run_table(conditions)
    fig = plot_metric_vs_param(final, param="lr", runs=runs)
    top, bottom = fig.axes
    assert bottom.get_xscale() == "log" and bottom.get_xlabel() == "lr"
    (spread,) = bottom.get_lines()
    np.testing.assert_array_equal(spread.get_ydata(), np.array(final.column("var"), dtype=float))
    assert [a.get_text() for a in top.texts] == ["2/2 diverged"]
    diverged = [line for line in top.get_lines() if line.get_marker() == "x" and len(line.get_xdata())]
    assert [line.get_xdata()[0] for line in diverged] == [1e6]
    seeds = [line for line in top.get_lines() if line.get_marker() == "."]
    assert sorted(seeds[0].get_ydata()) == sorted(runs.where(status="finished").column("value"))
    with pytest.raises(ConfigError, match="lr has values <= 0"):
        plot_metric_vs_param(Table(final.columns, ({**final.rows[0], "lr": 0.0},)), param="lr")


def _curve_rows(condition: str, means: list[float], n: int, spread: float) -> list[dict[str, object]]:
    return [
        {"condition": condition, "metric": "test_accuracy", "epoch": e, "n": n, "mean": m,
         "ci_low": m - spread, "ci_high": m + spread, "min": m - spread / 10, "max": m + spread / 10}
        for e, m in enumerate(means)
    ]  # fmt: skip


def test_identical_curves_stay_visible_and_say_so() -> None:
    flat = [0.1135, 0.1135, 0.1135]
    curves = Table.from_rows(
        _curve_rows("uniform", flat, 5, 0.0) + _curve_rows("normal", flat, 5, 0.0)
        + _curve_rows("default", [0.9, 0.95, 0.97], 5, 0.01)
    )  # fmt: skip
    fig = plot_curves(curves)
    uniform, normal, _ = fig.axes[0].get_lines()
    assert uniform.get_linestyle() != normal.get_linestyle() and uniform.get_marker() != normal.get_marker()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["uniform", "normal (identical to uniform)", "default"]
    distinct = Table.from_rows(
        _curve_rows("uniform", flat, 5, 0.0) + _curve_rows("normal", [0.1, 0.2, 0.3], 5, 0.0)
    )
    assert "identical" not in " ".join(t.get_text() for t in plot_curves(distinct).legends[0].get_texts())


def test_metric_vs_param_draws_one_line_per_series_in_parameter_order() -> None:
    def row(model: str, scale: float, mean: float, var: float, diverged: int = 0) -> dict[str, object]:
        return {"condition": f"{model}/{scale}", "metric": "test_accuracy", "model": model,
                "init_params.scale": scale, "runs": 3, "n": 3 - diverged, "mean": mean, "ci_half_width": 0.01,
                "var": var, "diverged": diverged}  # fmt: skip

    rows = [row("fnn", 10.0, 0.5, 0.04, 1), row("fnn", 0.1, 0.97, 1e-4), row("cnn", 0.1, 0.98, 2e-4)]
    top, bottom = plot_metric_vs_param(Table.from_rows(rows), param="init_params.scale", series="model").axes
    fnn, cnn = bottom.get_lines()
    assert (list(fnn.get_xdata()), list(fnn.get_ydata())) == ([0.1, 10.0], [1e-4, 0.04])
    assert (list(cnn.get_xdata()), list(cnn.get_ydata())) == ([0.1], [2e-4])
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["model=fnn", "model=cnn", "diverged runs"]
    assert [a.get_text() for a in top.texts] == ["1/3 diverged"]


def test_accuracy_intervals_stay_within_0_and_1_and_need_four_runs() -> None:
    """Two seeds give a t interval of ±12.7 standard errors: curves shade the seeds' range instead, the
    final plot draws no error bar; from four runs the interval is drawn, clipped to [0, 1]."""
    few = plot_curves(Table.from_rows(_curve_rows("a", [0.1, 0.5, 0.95], 2, 0.9)))
    (band,) = [c for c in few.axes[0].collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert (ys.min(), ys.max()) == pytest.approx((0.01, 1.0))  # min–max of the seeds, capped at 1
    many = plot_curves(Table.from_rows(_curve_rows("a", [0.1, 0.5, 0.95], 4, 0.9)))
    (band,) = [c for c in many.axes[0].collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert (ys.min(), ys.max()) == (0.0, 1.0) and many.axes[0].get_ylabel().endswith("band: 95% CI)")

    def final(n: int) -> Table:
        row = {"condition": "a", "metric": "test_accuracy", "runs": n, "n": n, "mean": 0.95,
               "ci_half_width": 0.4, "level": 0.95}  # fmt: skip
        return Table.from_rows([row])

    (ax,) = plot_final(final(2)).axes
    assert not [c for c in ax.collections if c.get_segments()]  # no error bar from two runs
    (ax,) = plot_final(final(4)).axes
    (bar,) = [c for c in ax.collections if c.get_segments()]
    (start, end), *_ = bar.get_segments()
    assert (start[0], end[0]) == pytest.approx((0.55, 1.0))
