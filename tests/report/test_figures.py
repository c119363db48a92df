"""Figures draw exactly the numbers of their tidy tables."""

from __future__ import annotations

import statistics
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from initlab.errors import ConfigError
from initlab.report.figures import (
    plot_curves,
    plot_final,
    plot_heatmap,
    plot_lines_by_layer,
    plot_metric_vs_param,
    png_bytes,
)
from initlab.report.runs import group_conditions, load_runs
from initlab.report.tables import Table, curve_table, final_table, probe_table, run_table
from initlab.store import Store
from report_stores import PROBE, PROBE_STEPS, Stores


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
    assert legend[3] == "init=zero-weight-random-bias(dist=normal)  (n=2; 1 diverged; 1 failed)"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "test accuracy (mean, 95% CI band)"
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


def test_heatmap_and_lines_show_the_mean_over_seeds_per_layer_and_step(stores: Stores) -> None:
    conditions = _conditions(stores.main)
    with Store(stores.main) as store:
        rows = probe_table(store, conditions, PROBE)
    layers = list(dict.fromkeys(rows.column("layer")))
    label = "init=zero-weight-random-bias(dist=uniform)"
    runs = rows.where(condition=label)
    expected = np.array(
        [[statistics.fmean(runs.where(layer=layer, step=step).column("value")) for step in range(PROBE_STEPS)]
         for layer in layers]
    )  # fmt: skip
    heat = plot_heatmap(rows, title="weight norms")
    panels = [ax for ax in heat.axes if ax.get_images()]
    assert [ax.get_title() for ax in panels] == [c.label for c in conditions[:3]]
    np.testing.assert_allclose(panels[2].get_images()[0].get_array(), expected, rtol=1e-12)
    assert [t.get_text() for t in panels[2].get_yticklabels()] == layers
    lines = plot_lines_by_layer(rows, value_label="weight norm")
    panel = next(ax for ax in lines.axes if ax.get_title() == label)
    for line, want in zip(panel.get_lines(), expected, strict=True):
        np.testing.assert_allclose(line.get_ydata(), want, rtol=1e-12)
    assert panel.get_ylabel() == "weight norm"
    with pytest.raises(ConfigError, match="empty table"):
        plot_heatmap(rows.where(name="no-such-name"))


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


def test_accuracy_intervals_are_drawn_within_0_and_1_and_kept_in_the_tables() -> None:
    """Two seeds give a t interval of ±12.7 standard errors: the figures clip it to [0, 1]."""
    curves = Table.from_rows(
        [
            {
                "condition": "a",
                "metric": "test_accuracy",
                "epoch": e,
                "n": 2,
                "mean": m,
                "ci_low": m - 0.9,
                "ci_high": m + 0.9,
            }
            for e, m in enumerate([0.1, 0.5, 0.95])
        ]
    )
    (ax,) = plot_curves(curves).axes
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 0.0 and ys.max() == 1.0

    final = Table.from_rows(
        [
            {
                "condition": "a",
                "metric": "test_accuracy",
                "runs": 2,
                "n": 2,
                "mean": 0.95,
                "ci_half_width": 0.4,
                "level": 0.95,
            }
        ]
    )
    (ax,) = plot_final(final).axes
    (bar,) = [c for c in ax.collections if c.get_segments()]
    (start, end), *_ = bar.get_segments()
    assert (start[0], end[0]) == pytest.approx((0.55, 1.0))
    assert final.rows[0]["ci_half_width"] == 0.4  # the table keeps the interval as computed
