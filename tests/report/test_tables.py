"""Tidy tables from the store: means and t-intervals over finished runs, counts of the rest, CSV."""

from __future__ import annotations

import csv
import math
import shutil
import statistics
from pathlib import Path

import pytest

from initlab.errors import ConfigError
from initlab.records import MetricRow, RunStart
from initlab.report.runs import group_conditions, load_runs
from initlab.report.tables import Table, curve_table, final_table, probe_table, run_table
from initlab.store import Store
from report_stores import DIVERGED_SEED, FAILED_SEED, PROBE, PROBE_STEPS, Stores

T_975 = {1: 12.706205, 2: 4.302653}  # t_{0.975, df}


def _conditions(path: Path):
    with Store(path) as store:
        return group_conditions(load_runs(store))


def _hand_interval(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    half = T_975[len(values) - 1] * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def test_curves_are_means_and_t_intervals_of_the_finished_runs(stores: Stores) -> None:
    conditions = _conditions(stores.main)
    curves = curve_table(conditions, "test_accuracy")
    with Store(stores.main) as store:
        for condition in conditions:
            store_values = [
                {m.epoch: m.value for m in store.metrics(r.id, split="test", name="accuracy")}
                for r in store.runs(status="finished")
                if r.id in {run.id for run in condition.runs}
            ]
            rows = curves.where(condition=condition.label)
            assert rows.column("epoch") == [0, 1, 2]
            for row in rows:
                values = [s[row["epoch"]] for s in store_values]
                mean, low, high = _hand_interval(values)
                assert row["n"] == len(store_values) and row["metric"] == "test_accuracy"
                assert row["mean"] == pytest.approx(mean, rel=1e-12)
                within = (max(low, 0.0), min(high, 1.0))  # an accuracy's interval stays within [0, 1]
                assert (row["ci_low"], row["ci_high"]) == pytest.approx(within, rel=1e-6, abs=1e-12)
                assert row["interval"] == f"n={len(values)}: n too small for an interval"
                assert (row["min"], row["max"]) == (min(values), max(values))
    assert curves.where(condition="init=zero-weight-random-bias(dist=normal)").column("n") == [2, 2, 2]


def test_final_table_averages_finished_runs_and_counts_the_others(stores: Stores) -> None:
    conditions = _conditions(stores.main)
    final = final_table(conditions, "test_accuracy")
    assert len(final) == 4
    normal = final.where(condition="init=zero-weight-random-bias(dist=normal)").rows[0]
    assert (normal["runs"], normal["n"], normal["diverged"], normal["failed"], normal["unfinished"]) == (
        4,
        2,
        1,
        1,
        0,
    )
    with Store(stores.main) as store:
        zwrb = store.runs(init="zero-weight-random-bias", status="finished")
        finished = [r.summary["test_accuracy"] for r in zwrb if r.config["init_params"]["dist"] == "normal"]
    assert normal["mean"] == pytest.approx(statistics.fmean(finished), rel=1e-12)
    assert normal["ci_half_width"] == pytest.approx(
        _hand_interval(finished)[2] - normal["mean"], rel=1e-6, abs=1e-12
    )
    assert normal["var"] == pytest.approx(statistics.variance(finished), rel=1e-9, abs=1e-15)
    assert final.column("n")[:3] == [3, 3, 3] and final.column("diverged")[:3] == [0, 0, 0]


def test_run_table_shows_diverged_and_failed_runs_without_a_value(stores: Stores) -> None:
    runs = run_table(_conditions(stores.main), "test_accuracy")
    assert len(runs) == 13
    diverged = runs.where(status="diverged").rows
    failed = runs.where(status="failed").rows
    assert [r["seed"] for r in diverged] == [DIVERGED_SEED] and [r["seed"] for r in failed] == [FAILED_SEED]
    assert math.isnan(diverged[0]["value"]) and math.isnan(failed[0]["value"])
    assert diverged[0]["diverged_step"] == 4  # NaN written after step 3: the loss of step 4 is NaN
    assert failed[0]["reason"] == "RuntimeError: simulated crash"
    assert all(0 <= v <= 1 for v in runs.where(status="finished").column("value"))


def test_an_unfinished_run_is_counted_not_averaged(stores: Stores, tmp_path: Path) -> None:
    """A run killed mid-way (started, some metrics, no end) stays out of every mean."""
    path = shutil.copy(stores.main, tmp_path / "copy.db")
    with Store(path) as store:
        first = store.runs(init="pytorch-default")[0]
        config = {**first.config, "seed": 7}
        store.start_run(RunStart("killed", config, "h", 7, "cpu", first.started_at + 1e5, "0.1.0", "2"))
        store.write_metrics("killed", [MetricRow(0, 0, "test", "accuracy", 0.0)])
    before = final_table(_conditions(stores.main)).rows[0]
    after = final_table(_conditions(path)).rows[0]
    assert (after["runs"], after["n"], after["unfinished"]) == (4, 3, 1)
    assert after["mean"] == before["mean"]
    assert curve_table(_conditions(path)).where(condition="init=pytorch-default").column("n") == [3, 3, 3]


def test_csv_holds_the_same_numbers_as_the_store(stores: Stores, tmp_path: Path) -> None:
    runs = run_table(_conditions(stores.main), "test_accuracy")
    runs.to_csv(tmp_path / "runs.csv")
    with (tmp_path / "runs.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(runs.columns)
    with Store(stores.main) as store:
        assert [r["run_id"] for r in rows] == [r.id for r in store.runs()]
        for row in rows:
            record = store.run(row["run_id"])
            assert (row["status"], int(row["seed"])) == (record.status, record.seed)
            if record.status == "finished":
                assert float(row["value"]) == record.summary["test_accuracy"]  # exact: CSV keeps repr
            else:
                assert row["value"] == "nan"
    final = final_table(_conditions(stores.main))
    final.to_csv(tmp_path / "final.csv")
    with (tmp_path / "final.csv").open() as f:
        read = list(csv.DictReader(f))
    assert [float(r["mean"]) for r in read] == final.column("mean")
    assert [int(r["diverged"]) for r in read] == [0, 0, 0, 1]


def test_other_metrics_and_axes(stores: Stores) -> None:
    conditions = _conditions(stores.main)
    losses = curve_table(conditions, "val_loss")
    assert all(r["mean"] > 0 for r in losses)
    steps = curve_table(conditions, "train_batch_loss", x="step")
    # 540 training samples, batches of 64: 9 steps an epoch; loss logged every 4 steps and at epoch ends
    assert steps.where(condition="init=zeros").column("step") == [4, 8, 9, 12, 16, 18]
    with pytest.raises(ConfigError, match="several values per epoch; plot it against step"):
        curve_table(conditions, "train_batch_loss")
    with pytest.raises(
        ConfigError, match=r"no run recorded metric 'test_acc'; recorded: test_accuracy, test_loss"
    ):
        final_table(conditions, "test_acc")


def test_probe_table_holds_every_probe_row(stores: Stores) -> None:
    conditions = _conditions(stores.main)
    with Store(stores.main) as store:
        rows = probe_table(store, conditions, PROBE)
        layers = {row.layer for _, row in store.probe_rows(conditions[0].runs[0].id)}
        assert len(rows) == 3 * 3 * PROBE_STEPS * len(layers)
        assert rows.column("step")[: len(layers) + 1] == [0] * len(layers) + [1]
        first = conditions[1].runs[0].id  # zeros: every weight norm is 0 until it moves
        stored = [row.value for _, row in store.probe_rows(first, PROBE)]
        assert rows.where(run_id=first).column("value") == stored
        assert probe_table(store, conditions, "no-such-probe").rows == ()


def test_table_helpers() -> None:
    table = Table.from_rows([{"a": 1, "b": "x"}, {"a": 2, "c": 3.5}], ["b"])
    assert table.columns == ("b", "a", "c")
    assert list(table.groups("b")) == ["x", None]
    with pytest.raises(ConfigError, match="table has no column 'z'; columns: b, a, c"):
        table.column("z")
