"""The local executor end to end: real worker processes, failures recorded, resume, SIGKILLed drivers."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.records import MemorySink
from initlab.store import Store
from initlab.sweep import expand, load_sweep, run_sweep
from initlab.sweep.driver import run_labels, sweep_lock
from initlab.sweep.local import available_cores, threads_per_worker
from initlab.train import resolve_config, train
from sweep_helpers import BLOBS, KillAtStep, RaiseAtStep


def blobs(**overrides: object) -> RunConfig:
    return resolve_config(RunConfig(**(BLOBS | overrides)))


def rows_by_key(store: Store) -> dict[str, list]:
    runs: dict[str, list] = {}
    for run in store.runs():
        runs.setdefault(run.config_hash, []).append(run)
    return runs


@pytest.mark.slow
def test_failures_are_recorded_the_sweep_goes_on_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path / "no-data"))  # so CIFAR-10 cannot be found
    configs = [
        blobs(seed=0),
        blobs(seed=1),
        blobs(seed=0, optimizer="sgd", lr=1e6),  # diverges
        resolve_config(RunConfig(dataset="cifar10", model="cifar-fnn", epochs=1)),  # fails before train()
        blobs(seed=2),  # raises at step 3 (RaiseAtStep)
        blobs(seed=3),  # its worker is SIGKILLed at step 3 (KillAtStep)
    ]
    keys = [c.key() for c in configs]
    db = tmp_path / "r.db"
    callbacks = [RaiseAtStep(seed=2, step=3), KillAtStep(seed=3, step=3)]
    summary = run_sweep(configs, db, name="outcomes", workers=2, callbacks=callbacks)
    assert (summary.runs, summary.finished, summary.diverged, summary.failed) == (6, 2, 1, 3)
    assert (summary.skipped, summary.ran, summary.unfinished) == (0, 6, 0)
    with Store(db) as store:
        first = {run.config_hash: run for run in store.runs(sweep="outcomes")}
        assert len(first) == 6 and set(first) == set(keys)
        status = [first[k].status for k in keys]
        assert status == ["finished", "finished", "diverged", "failed", "failed", "failed"]
        assert first[keys[2]].diverged_step is not None
        data_error, raised, killed = (first[k].reason for k in keys[3:])
        assert data_error.startswith("DataError: no source has cifar10 (train)") and "Traceback" in data_error
        assert raised.startswith("RuntimeError: injected failure at step 3") and "Traceback" in raised
        assert "in on_step_end" in raised  # the traceback reaches into the run
        assert killed == "the worker process was killed by SIGKILL during this run"
        # the raising run's records up to its failure are kept: its epoch-0 evaluation
        assert [m.epoch for m in store.metrics(first[keys[4]].id, split="test", name="accuracy")] == [0]
    assert {label for label, _ in summary.failures} == {run_labels(configs)[k] for k in keys[3:]}

    # rerun without the faults: finished and diverged runs are skipped, failed ones replaced
    summary = run_sweep(configs, db, name="outcomes", workers=2)
    assert (summary.finished, summary.diverged, summary.failed, summary.skipped, summary.ran) == (
        4,
        1,
        1,
        3,
        3,
    )
    with Store(db) as store:
        by_key = rows_by_key(store)
        assert all(len(by_key[k]) == 1 for k in keys)  # every run exists exactly once
        second = {k: by_key[k][0] for k in keys}
    for k in keys[:3]:  # not re-run: the same row, the same start time
        assert (second[k].id, second[k].started_at) == (first[k].id, first[k].started_at)
    for k in keys[3:]:
        assert second[k].id != first[k].id and second[k].started_at > first[k].started_at
    assert [second[k].status for k in keys[4:]] == ["finished", "finished"]
    assert second[keys[3]].status == "failed"


@pytest.mark.slow
def test_vmap_engine_records_each_seed_as_its_own_run(tmp_path: Path) -> None:
    spec = load_sweep(
        name="batched",
        base=BLOBS,
        axes={"init": ["pytorch-default", "zero-weight-random-bias"], "seed": [0, 1, 2]},
    )
    configs = expand(spec)
    summary = run_sweep(configs, tmp_path / "r.db", name=spec.name, workers=2, engine="vmap")
    assert (summary.finished, summary.failed) == (6, 0)
    reference = MemorySink()
    separate = train(configs[4], sink=reference)  # zero-weight-random-bias, seed 1, trained alone here
    with Store(tmp_path / "r.db") as store:
        runs = {r.config_hash: r for r in store.runs(sweep="batched")}
        assert set(runs) == {c.key() for c in configs}
        run = runs[configs[4].key()]
        assert run.config == configs[4].model_dump(mode="json") and run.seed == 1
        stored = store.metrics(run.id, split="test", name="loss")
    expected = [m for m in reference.metrics[separate.id] if (m.split, m.name) == ("test", "loss")]
    assert [m.epoch for m in stored] == [0, 1, 2]
    assert [m.value for m in stored] == pytest.approx([m.value for m in expected], rel=1e-4)
    assert run_sweep(configs, tmp_path / "r.db", workers=2, engine="vmap").skipped == 6


def test_a_second_sweep_on_the_same_store_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with (
        Store(db) as store,
        sweep_lock(store.path),
        pytest.raises(ConfigError, match=r"another sweep \(pid \d+\)"),
    ):
        run_sweep([blobs()], db, workers=1)


def test_bad_executor_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="executor='slurm' is not allowed; allowed: local, ray"):
        run_sweep([blobs()], tmp_path / "r.db", executor="slurm")
    with pytest.raises(ConfigError, match="workers=0, threads=None are invalid"):
        run_sweep([blobs()], tmp_path / "r.db", workers=0)
    with pytest.raises(ConfigError, match="workers=1, threads=0 are invalid"):
        run_sweep([blobs()], tmp_path / "r.db", workers=1, threads=0)
    with pytest.raises(ConfigError, match="engine='jit' is not allowed; allowed: loop, vmap"):
        run_sweep([blobs()], tmp_path / "r.db", engine="jit")


def test_workers_share_the_cores() -> None:
    cores = available_cores()
    assert threads_per_worker(1) == cores
    assert threads_per_worker(cores) == 1 and threads_per_worker(4 * cores) == 1


# -- SIGKILL the driver at several points, then resume ------------------------------------------------

KILL_SWEEP = """
name = "kill"
[base]
dataset = "synthetic-blobs"
dataset_params = { n = 3000 }
model = "mlp"
model_params = { depth = 3, width = 64 }
epochs = 10
batch_size = 64
[axes]
init = ["pytorch-default", "zero-weight-random-bias"]
seed = "0..5"
"""
EPOCHS = 10


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def progress(db: Path) -> tuple[int, int]:
    """(finished runs, running runs that have evaluated at least 2 but not all epochs)."""
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute(
            "SELECT status, (SELECT COUNT(*) FROM metrics m WHERE m.run_id = r.id AND m.split = 'test'"
            " AND m.name = 'accuracy') FROM runs r"
        ).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0, 0
    finally:
        conn.close()
    finished = sum(status == "finished" for status, _ in rows)
    partial = sum(status == "running" and 2 <= n <= EPOCHS for status, n in rows)
    return finished, partial


def start_driver(sweep: Path, db: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "initlab",
        "sweep",
        "run",
        str(sweep),
        "--workers",
        "2",
        "--store",
        str(db),
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_when(driver: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> None:
    """SIGKILL the driver once ``ready()``; then its workers must be gone too."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert driver.poll() is None, f"the sweep ended before the kill point: {driver.stdout.read()}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.02)
    workers = children(driver.pid)
    assert len(workers) == 2
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "worker processes outlived the SIGKILLed driver"


def check_invariants(db: Path) -> dict[str, str]:
    """At every point: each key has at most one run, and a finished run has all its epochs."""
    with Store(db) as store:
        by_key = rows_by_key(store)
        assert all(len(runs) == 1 for runs in by_key.values())
        for (run,) in by_key.values():
            test_acc = store.metrics(run.id, split="test", name="accuracy")
            if run.status == "finished":
                assert [m.epoch for m in test_acc] == list(range(EPOCHS + 1)) and run.summary[
                    "epochs"
                ] == EPOCHS
        return {key: runs[0].id for key, runs in by_key.items() if runs[0].status == "finished"}


@pytest.mark.slow
def test_sigkilled_driver_resumes_with_every_run_exactly_once(tmp_path: Path) -> None:
    sweep, db = tmp_path / "kill.toml", tmp_path / "r.db"
    sweep.write_text(KILL_SWEEP)
    keys = [c.key() for c in expand(load_sweep(sweep))]
    assert len(keys) == 12
    finished_before: dict[str, str] = {}
    for at_least in (0, 4, 8):  # kill while a run is mid-way, after 0, 4 and 8 runs have finished
        driver = start_driver(sweep, db)
        kill_when(driver, lambda n=at_least: (lambda f, p: f >= n and p > 0)(*progress(db)))
        finished = check_invariants(db)
        assert progress(db)[1] > 0 or len(finished) < 12  # a run was cut off mid-way
        with Store(db) as store:
            assert any(r.status == "running" for r in store.runs())
        assert finished_before.items() <= finished.items()  # finished runs are never re-run
        finished_before = finished
    driver = start_driver(sweep, db)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 0, output
    assert "sweep 'kill': 12 runs: 12 finished, 0 diverged, 0 failed" in output
    finished = check_invariants(db)
    assert sorted(finished) == sorted(keys)
    assert finished_before.items() <= finished.items()
    with Store(db) as store:
        assert {r.config_hash for r in store.runs(sweep="kill", status="finished")} == set(keys)
        assert len({len(store.metrics(r.id)) for r in store.runs()}) == 1  # every run has the same rows
