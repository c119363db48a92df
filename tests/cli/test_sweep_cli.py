"""``initlab sweep plan|run``: the plan with statuses from the store, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.cli.app import main
from initlab.records import RunEnd
from initlab.store import Store
from initlab.sweep import expand, load_sweep
from initlab.train.loop import start_record

SWEEP = """
name = "grid"
zip = [["optimizer", "lr"]]
[base]
dataset = "synthetic-blobs"
model = "mlp"
epochs = 1
[axes]
optimizer = ["sgd", "adam"]
lr = [0.1, 1e-3]
seed = "0..2"
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_plan_lists_the_runs_with_their_status_in_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep, db = tmp_path / "grid.toml", tmp_path / "r.db"
    sweep.write_text(SWEEP)
    configs = expand(load_sweep(sweep))
    status, out, _ = run_cli(capsys, "sweep", "plan", str(sweep), "--store", str(db))
    assert status == 0 and not db.exists()  # planning writes nothing
    assert all(c.key() in out for c in configs)
    assert "sweep 'grid': 6 runs, 0 done, 6 to run" in out

    with Store(db) as store:  # one run finished, one diverged, one failed
        for config, end in zip(configs, ("finished", "diverged", "failed"), strict=False):
            store.start_run(start_record(config, config.key(), "cpu"))
            store.end_run(config.key(), RunEnd(end, 2.0, 1.0))
    status, out, _ = run_cli(
        capsys, "sweep", "plan", str(sweep), "--store", str(db), "--axis", "seed=0..3", "--engine", "vmap"
    )
    assert status == 0
    assert "sweep 'grid': 8 runs, 2 done, 6 to run as 2 vmap jobs" in out
    assert "finished" in out and "diverged" in out and "failed" in out


def test_a_sweep_from_options_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "sweep", "plan", "--set", "dataset=synthetic-blobs", "--set", "model=mlp",
        "--set", "model_params.width=8", "--axis", "init=zeros,pytorch-default", "--axis", "seed=0..1",
        "--store", str(tmp_path / "r.db"),
    )  # fmt: skip
    assert status == 0
    assert "mlp/zeros(bias=zeros,bias_scale=0.01)/s1" in out and "mlp/pytorch-default/s0" in out
    assert "4 runs, 0 done, 4 to run" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", "plan"], "error: give a sweep file, or the sweep as options"),
        (["sweep", "plan", "missing.toml"], "error: config file 'missing.toml' does not exist"),
        (
            ["sweep", "plan", "--set", "model=mlp", "--axis", "lrr=0.1"],
            "error: sweep axes: axis 'lrr' is not a",
        ),
        (
            [
                "sweep",
                "plan",
                "--set",
                "model=mlp",
                "--axis",
                "lr=0.1,0.2",
                "--axis",
                "seed=0",
                "--zip",
                "lr,seed",
            ],
            "error: sweep: zipped axes must have equal lengths: lr has 2, seed has 1",
        ),
        (
            ["sweep", "run", "--axis", "seed=0", "--ray-address", "auto"],
            "error: --ray-address needs --executor ray, not --executor local",
        ),
        (["sweep", "run", "--axis", "seed=0", "--executor", "mpi"], "error: executor='mpi' is not allowed"),
    ],
)
def test_bad_sweeps_are_one_line_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run_cli(capsys, *args, "--store", str(tmp_path / "r.db"))
    assert status == 2, out + err
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1


def test_runs_lists_a_sweeps_runs_with_their_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    configs = expand(
        load_sweep(base={"dataset": "synthetic-blobs", "model": "mlp"}, axes={"seed": [0, 1, 2]})
    )
    with Store(db) as store:
        for config in configs:
            store.start_run(start_record(config, f"run{config.seed}", "cpu"))
        store.end_run(
            "run1", RunEnd("failed", 2.0, 1.0, "RuntimeError: boom\nTraceback (most recent call last):")
        )
        store.record_sweep("grid", [c.key() for c in configs[1:]])
    status, out, _ = run_cli(capsys, "runs", "--sweep", "grid", "--reasons", "--store", str(db))
    assert status == 0
    assert "run1" in out and "run2" in out and "run0" not in out
    assert "RuntimeError: boom\nTraceback (most recent call last):" in out
    assert "2 of 2 runs" in out
