"""The Ray executor on a real local Ray instance (2 CPUs): runs as tasks, records back to the driver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from initlab.config import RunConfig
from initlab.records import MemorySink
from initlab.store import Store
from initlab.sweep import run_sweep
from initlab.sweep.ray_cluster import connect
from initlab.train import resolve_config, train
from sweep_helpers import BLOBS, KillAtStep

ray = pytest.importorskip("ray", reason="Ray is not installed; `pip install 'initlab[ray]'` runs these tests")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray instance with 2 CPUs, on loopback, started as the executor starts one: its workers
    get this process's path, so they import this test suite's helpers. An address left in the
    environment (a cluster once started here) does not stop it from starting its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_ADDRESS", "127.0.0.1:9")
        connect(ray, None, num_cpus=2)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_a_sweep_runs_as_ray_tasks_and_resumes(ray_address: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path / "no-data"))
    configs = [
        resolve_config(RunConfig(**BLOBS, init=init, seed=seed))
        for init in ("pytorch-default", "zeros")
        for seed in (0, 1)
    ]
    configs.append(
        resolve_config(RunConfig(dataset="cifar10", model="cifar-fnn", epochs=1))
    )  # no data: fails before starting
    db = tmp_path / "r.db"
    summary = run_sweep(configs, db, name="on-ray", executor="ray", num_cpus=1)
    assert (summary.finished, summary.diverged, summary.failed, summary.ran) == (4, 0, 1, 5)
    with Store(db) as store:
        runs = {r.config_hash: r for r in store.runs(sweep="on-ray")}
        assert len(runs) == 5 and len(store.runs()) == 5
        failed = runs[configs[4].key()]
        assert failed.status == "failed" and failed.reason.startswith("DataError: no source has cifar10")
        assert "Traceback" in failed.reason
        run = runs[configs[1].key()]
        stored = [
            (m.epoch, m.step, m.split, m.name, m.value) for m in store.metrics(run.id) if m.name != "seconds"
        ]
    # The task trained with 1 thread; so does this reference run: the numbers are the same, bit for bit.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sink = MemorySink()
        reference = train(configs[1], sink=sink)
    finally:
        torch.set_num_threads(threads)
    assert stored == [tuple(m) for m in sink.metrics[reference.id] if m.name != "seconds"]

    again = run_sweep(configs, db, name="on-ray", executor="ray")
    assert (again.skipped, again.ran, again.failed) == (4, 1, 1)
    with Store(db) as store:
        assert len(store.runs()) == 5  # the failed run was replaced, the others kept


def test_a_task_whose_worker_dies_is_retried_then_failed(ray_address: str, tmp_path: Path) -> None:
    configs = [RunConfig(**BLOBS, seed=seed) for seed in (0, 1)]
    summary = run_sweep(
        configs, tmp_path / "r.db", executor="ray", max_retries=1, callbacks=[KillAtStep(seed=1, step=2)]
    )
    assert (summary.finished, summary.failed) == (1, 1)
    with Store(tmp_path / "r.db") as store:
        (failed,) = store.runs(status="failed")
    assert failed.seed == 1
    assert failed.reason.startswith("its Ray task failed after 1 retries: ") and "Error" in failed.reason


def test_the_cli_runs_a_sweep_on_an_existing_cluster(ray_address: str, tmp_path: Path) -> None:
    sweep = tmp_path / "s.toml"
    sweep.write_text(
        'name = "cli-ray"\n[base]\ndataset = "synthetic-blobs"\nmodel = "mlp"\nepochs = 1\n'
        'dataset_params = { n = 600 }\n[axes]\nseed = "0..1"\n'
    )
    db = tmp_path / "r.db"
    command = [sys.executable, "-m", "initlab", "sweep", "run", str(sweep), "--executor", "ray"]
    command += ["--ray-address", ray_address, "--store", str(db)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sweep 'cli-ray': 2 runs: 2 finished, 0 diverged, 0 failed" in done.stdout
    with Store(db) as store:
        assert sorted(r.seed for r in store.runs(sweep="cli-ray", status="finished")) == [0, 1]
