"""The probes' report sections, drawn from the rows of real runs in a store."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import BoundaryNorm

from initlab.config import RunConfig
from initlab.report import PROBE_SECTIONS, group_conditions, load_runs, probe_table
from initlab.report.build import qualified
from initlab.report.figures import png_bytes
from initlab.report.html import Details
from initlab.report.layout import clipped_titles
from initlab.report.probe_sections.common import ProbeRuns, evenly_spaced
from initlab.report.probe_sections.signal import SignalRuns, signal_profiles
from initlab.report.probe_sections.symmetry import rank_overview, symmetry_table
from initlab.report.probe_sections.update_order import (
    update_order_details,
    update_order_overview,
    update_order_table,
)
from initlab.store import Store
from initlab.train import train

PROBES = {
    "update-order": {"first": 12, "every": 0},
    "symmetry": {"first": 6, "every": 0},
    "grad-dist": {"first": 6, "every": 0},
    "signal": {"first": 1, "every": 5, "quantiles": True},
}
DEEP = 30


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Digits runs with every probe: a 4-layer tanh MLP from zero weights with random biases (two
    seeds), from the default and from all zeros, and a 50-layer ReLU MLP from He init."""
    path = tmp_path_factory.mktemp("charts") / "r.db"
    base = {"dataset": "digits", "model": "mlp", "optimizer": "sgd", "lr": 0.1, "probes": PROBES}
    small = {"model_params": {"depth": 4, "width": 16, "activation": "tanh"}, "epochs": 2}
    configs = [
        *(dict(small, init="zero-weight-random-bias", seed=s) for s in (0, 1)),
        dict(small, init="pytorch-default"),
        dict(small, init="zeros"),
        {"model_params": {"depth": DEEP, "width": 16}, "init": "he-normal", "epochs": 1},
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with Store(path) as db:
        for config in configs:
            train(RunConfig(**base, **config), sink=db)
    torch.set_num_threads(threads)
    db = Store(path)
    yield db
    db.close()


def rows_of(store: Store, probe: str):
    return probe_table(store, group_conditions(load_runs(store)), probe)


def label(runs: ProbeRuns, init: str) -> str:
    return next(c for c in runs.labels if f"init={init}" in c and "depth=4" in c)


def test_update_order_overview_aligns_layers_at_the_head(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "update-order"))
    grid = update_order_overview(runs).axes[0].get_images()[0].get_array()
    assert grid.shape == (len(runs.labels), DEEP)  # one column per weight tensor of the deepest model
    row = runs.labels.index(label(runs, "zero-weight-random-bias"))
    assert grid[row, -4:].tolist() == [3, 2, 1, 0]  # fc1, fc2, fc3, head: L−k first changes at step k
    assert grid.mask[row, :-4].all()  # no such tensors in a 4-layer model
    assert grid[runs.labels.index(label(runs, "pytorch-default")), -4:].tolist() == [0, 0, 0, 0]


def test_events_table_spans_the_seeds_and_the_representative_run_is_the_lowest_seed(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "update-order"))
    zero = label(runs, "zero-weight-random-bias")
    assert runs.representative(zero)[0] == 0 and len(runs.runs(zero)) == 2
    table = {(r["condition"], r["tensor"]): r for r in update_order_table(runs)}
    fc1 = table[zero, "fc1.weight"]
    assert (fc1["runs"], fc1["first_change_step min"], fc1["first_change_step max"]) == (2, 3, 3)
    assert table[zero, "head.weight"]["first_grad_step max"] == 0


def test_symmetry_verdicts_tell_zeros_from_random_biases(store: Store) -> None:
    table = {
        (r["condition"], r["layer"]): r for r in symmetry_table(ProbeRuns.of(rows_of(store, "symmetry")))
    }
    runs = ProbeRuns.of(rows_of(store, "symmetry"))
    for layer in ("fc1", "fc2", "fc3"):
        zeros = table[label(runs, "zeros"), layer]
        assert (zeros["largest group (last)"], zeros["verdict (last)"]) == (16, "permanent")
        biased = table[label(runs, "zero-weight-random-bias"), layer]
        assert (biased["largest group (last)"], biased["verdict (last)"], biased["units"]) == (1, "no", 16)
        assert biased["rank (last)"] == 1  # zero weights with random biases: distinct units, rank 1
    assert table[label(runs, "zeros"), "head"]["verdict (last)"] == "no"  # fed by the loss


def test_detail_figures_pick_conditions_evenly_and_label_many_layers_sparsely(store: Store) -> None:
    assert evenly_spaced(list(range(14)), 6) == [0, 3, 5, 8, 10, 13]
    assert evenly_spaced(["a", "b"], 6) == ["a", "b"]
    section = PROBE_SECTIONS.get("update-order").fn(rows_of(store, "update-order"))
    (folded,) = [b for b in section.blocks if isinstance(b, Details)]  # the detail chart is folded
    (chart,) = folded.blocks
    assert chart.name == "probe_update_order_chart" and "Showing" not in chart.caption  # all five drawn
    runs = ProbeRuns.of(rows_of(store, "update-order"))
    deep = next(c for c in runs.labels if f"depth={DEEP}" in c)
    fig = update_order_details(runs, [deep])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert 2 * DEEP > len(labels) >= 20 and labels[-1] == "head.bias"


def test_charts_of_grouped_reports_keep_conditions_of_equal_labels_apart(store: Store) -> None:
    zero = [r for r in load_runs(store) if r.record.config["init"] == "zero-weight-random-bias"]
    groups = {f"seed {s}": group_conditions([r for r in zero if r.record.seed == s]) for s in (0, 1)}
    assert groups["seed 0"][0].label == groups["seed 1"][0].label  # one condition per group, same label
    rows = probe_table(store, qualified([], groups), "update-order")
    assert {c.split(":")[0] for c in rows.column("condition")} == {"seed 0", "seed 1"}


def test_signal_overview_averages_over_seeds_geometrically(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "signal"))
    signal = SignalRuns.of(runs)
    zero = label(runs, "zero-weight-random-bias")
    per_seed = [
        [v for _, v in sorted((int(r.layer[3:]), r.value) for r in rows if r.name == "std" and r.step == 0
                              and r.layer.startswith("act"))]
        for rows in runs.runs(zero)
    ]  # fmt: skip
    expected = np.sqrt(np.array(per_seed[0]) * np.array(per_seed[1]))
    assert signal.at(zero, "std", 0, log=True) == pytest.approx(expected.tolist(), rel=1e-9)
    deep = next(c for c in runs.labels if f"depth={DEEP}" in c)
    dead = signal.at(deep, "inactive", 0, log=False)
    assert len(dead) == DEEP - 1 and all(0 <= v <= 1 for v in dead)


def test_whole_number_heatmaps_have_a_discrete_colour_bar(store: Store) -> None:
    for figure in (
        update_order_overview(ProbeRuns.of(rows_of(store, "update-order"))),
        rank_overview(ProbeRuns.of(rows_of(store, "symmetry"))),
    ):
        image = figure.axes[0].get_images()[0]
        assert isinstance(image.norm, BoundaryNorm)  # one colour per whole value, none in between
        bounds = image.norm.boundaries
        assert np.allclose(np.diff(bounds), 1) and bounds[0] % 1 == 0.5
        ticks = figure.axes[-1].get_yticks()  # the colour bar
        assert len(ticks) and all(t == int(t) and bounds[0] < t < bounds[-1] for t in ticks)


def test_the_update_order_chart_has_a_column_per_recorded_step_and_markers_on_them(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "update-order"))
    zero = label(runs, "zero-weight-random-bias")
    ax = update_order_details(runs, [zero]).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        str(s) for s in range(PROBES["update-order"]["first"])
    ]
    grid = ax.get_images()[0].get_array()
    assert grid.shape[1] == PROBES["update-order"]["first"]
    first_change = next(line for line in ax.get_lines() if line.get_markerfacecolor() == "red")
    names = [t.get_text() for t in ax.get_yticklabels()]
    fc1 = list(first_change.get_ydata()).index(names.index("fc1.weight"))
    assert first_change.get_xdata()[fc1] == 3  # column 3 is step 3: fc1 first changes at step 3


def test_long_panel_titles_are_wrapped_to_fit_their_panels(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "update-order"))
    long = {
        f"model=resnet-cifar(depth=20,norm=none,shortcut=conv), init={c[-24:]}": v
        for c, v in runs.conditions.items()
    }
    wide = ProbeRuns(long, runs.seeds)
    fig = update_order_details(wide, wide.labels[:4])
    assert clipped_titles(fig)  # as drawn, the titles run past their panels
    png_bytes(fig)  # rendering for a report fits them
    assert clipped_titles(fig) == []
    assert all(len(ax.get_title(loc="left").split("\n")) > 1 for ax in fig.axes if ax.get_title(loc="left"))


def test_conditions_with_identical_profiles_are_told_apart(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "signal"))
    zero = label(runs, "zero-weight-random-bias")
    twin = ProbeRuns({zero: runs.conditions[zero], "twin": runs.conditions[zero]}, runs.seeds)
    signal = SignalRuns.of(twin)
    fig = signal_profiles(signal, twin.labels, [("std", "activation std", True)])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == [zero, f"twin (identical to {zero})"]
    first, second = (line for line in fig.axes[0].get_lines()[::2])
    assert first.get_marker() != second.get_marker()
