"""The store's sweep support: replacing stale attempts of a key, statuses by key, sweep membership,
and the migration of a version-1 file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from initlab.records import MetricRow, RunEnd, RunStart
from initlab.store import Store
from initlab.store.schema import RUN_TABLES, SCHEMA_VERSION


def start(run_id: str, key: str, at: float = 1.0) -> RunStart:
    return RunStart(run_id, {"dataset": "d", "model": "m", "init": "i"}, key, 0, "cpu", at, "0", "2")


def test_restart_replaces_running_and_failed_rows_of_the_key_only(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        store.start_run(start("killed", "k1"))
        store.write_metrics("killed", [MetricRow(1, 10, "test", "accuracy", 0.5)])
        store.start_run(start("crashed", "k1"))
        store.end_run("crashed", RunEnd("failed", 2.0, 1.0, "boom"))
        store.start_run(start("other", "k2"))
        store.restart_run(start("again", "k1", at=3.0))
        assert [r.id for r in store.runs(config_hash="k1")] == ["again"]
        assert [r.id for r in store.runs(config_hash="k2")] == ["other"]
        assert store.metrics("killed") == []  # the stale attempt's metrics went with it
        store.end_run("again", RunEnd("finished", 4.0, 1.0))
        store.restart_run(start("extra", "k1", at=5.0))  # a finished row is never deleted
        assert {r.id for r in store.runs(config_hash="k1")} == {"again", "extra"}


def test_key_statuses_take_the_most_final_status(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        for run_id, key, status in [
            ("a", "k1", "failed"),
            ("b", "k1", "finished"),
            ("c", "k2", "running"),
            ("d", "k3", "diverged"),
            ("e", "k3", "failed"),
        ]:
            store.start_run(start(run_id, key))
            if status != "running":
                store.end_run(run_id, RunEnd(status, 2.0, 1.0))
        keys = ["k1", "k2", "k3", "k4"] + [f"x{i}" for i in range(1200)]  # more keys than one query takes
        assert store.key_statuses(keys) == {"k1": "finished", "k2": "running", "k3": "diverged"}


def test_sweep_membership_finds_runs_by_key_and_is_replaced_by_a_new_plan(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        for run_id, key in [("a", "k1"), ("b", "k2"), ("c", "k3")]:
            store.start_run(start(run_id, key))
        store.record_sweep("grid", ["k1", "k2"], {"axes": {"seed": [0, 1]}})
        assert [r.id for r in store.runs(sweep="grid")] == ["a", "b"]
        store.record_sweep("grid", ["k2", "k3"])
        assert [r.id for r in store.runs(sweep="grid", status="running")] == ["b", "c"]
        assert store.runs(sweep="nope") == []
        rows = store.conn.execute("SELECT name, spec FROM sweeps").fetchall()
        assert rows == [("grid", None)]


def test_a_version_1_file_is_migrated_in_place_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(RUN_TABLES)
    conn.execute("PRAGMA user_version=1")
    conn.execute(
        "INSERT INTO runs (id, config, config_hash, seed, status, started_at, initlab_version, torch_version,"
        " device) VALUES ('old', '{}', 'k1', 0, 'finished', 1.0, '0.1.0', '2', 'cpu')"
    )
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        store.record_sweep("grid", ["k1"])
        assert [r.id for r in store.runs(sweep="grid")] == ["old"]
    with Store(path) as store:  # reopening a migrated file changes nothing
        assert [r.id for r in store.runs(sweep="grid")] == ["old"]
