"""What the store holds after a run, and how it reads back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import torch

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.records import MetricRow, ProbeRow, RunEnd, RunStart
from initlab.store import Store, export_csv
from initlab.train import resolve_config, train

CONFIG = resolve_config(
    RunConfig(
        dataset="synthetic-blobs",
        model="mlp",
        model_params={"width": 16},
        epochs=2,
        batch_size=64,
        log_every=4,
    )
)


def test_store_holds_the_run_its_metrics_and_its_end(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        result = train(CONFIG, sink=store)
        run = store.run(result.id)
        assert run.status == "finished" and run.reason is None
        assert run.config == CONFIG.model_dump(mode="json")
        assert run.config_hash == CONFIG.key()
        assert (run.seed, run.device, run.torch_version) == (0, "cpu", torch.__version__)
        assert run.ended_at >= run.started_at and run.seconds > 0
        assert run.summary == pytest.approx(result.summary)
        test_acc = store.metrics(result.id, split="test", name="accuracy")
        assert [m.epoch for m in test_acc] == [0, 1, 2]
        assert test_acc[-1].value == result.test_accuracy
        assert {m.split for m in store.metrics(result.id)} == {"train", "val", "test"}
        journal = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"
        assert [r.id for r in store.runs(status="finished", model="mlp")] == [result.id]
        assert store.runs(status="diverged") == []


def test_a_diverged_run_is_stored_with_its_step(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        result = train(CONFIG.model_copy(update={"optimizer": "sgd", "lr": 1e6}), sink=store)
        run = store.run(result.id)
    assert run.status == "diverged" and run.diverged_step == result.diverged_step
    assert "non-finite" in run.reason


def test_an_unfinished_run_reads_as_running_and_deletes_with_its_rows(tmp_path: Path) -> None:
    """A run killed mid-way stays 'running'; deleting it removes its metrics and probe rows too."""
    store = Store(tmp_path / "r.db")
    store.start_run(
        RunStart("abc", {"dataset": "d", "model": "m", "init": "i"}, "h", 0, "cpu", 1.0, "0", "2")
    )
    store.write_metrics("abc", [MetricRow(1, 10, "train", "loss", 0.5)])
    store.write_probe_rows("abc", "symmetry", [ProbeRow(0, "fc1", "groups", 1.0)])
    store.close()
    reopened = Store(tmp_path / "r.db")
    assert reopened.run("ab").status == "running"
    reopened.delete_run("abc")
    assert reopened.conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 0
    assert reopened.conn.execute("SELECT COUNT(*) FROM probe_rows").fetchone()[0] == 0
    reopened.end_run("zzz", RunEnd("finished", 2.0, 1.0))  # ending an unknown run changes nothing
    assert reopened.runs() == []


def test_export_csv_writes_runs_and_metrics(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        result = train(CONFIG, sink=store)
        paths = export_csv(store, tmp_path / "out")
    runs_csv = (tmp_path / "out" / "runs.csv").read_text().splitlines()
    assert len(runs_csv) == 2 and result.id in runs_csv[1]
    assert "config.init" in runs_csv[0] and "final.test_accuracy" in runs_csv[0]
    metrics_csv = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert metrics_csv[0] == "run_id,epoch,step,split,name,value"
    with Store(tmp_path / "r.db") as store:
        assert len(metrics_csv) - 1 == len(store.metrics(result.id))
    assert [p.name for p in paths] == ["runs.csv", "metrics.csv"]


def test_bad_store_paths_and_ids_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        Store(tmp_path)
    (tmp_path / "junk.db").write_text("not a database at all" * 100)
    with pytest.raises(ConfigError, match="is not an initlab store: not a SQLite database"):
        Store(tmp_path / "junk.db")
    with Store(tmp_path / "r.db") as store, pytest.raises(ConfigError, match="no run with id 'nope'"):
        store.run("nope")


def test_config_is_stored_as_plain_json(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        train(CONFIG, sink=store)
    raw = sqlite3.connect(tmp_path / "r.db").execute("SELECT config, dataset, init FROM runs").fetchone()
    assert json.loads(raw[0])["init"] == "pytorch-default"
    assert raw[1:] == ("synthetic-blobs", "pytorch-default")
