"""``initlab inspect`` and the probe flags of ``initlab run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.cli.app import main
from initlab.probes import PROBES
from initlab.store import Store

DIGITS_MLP = [
    "--dataset",
    "digits",
    "--model",
    "mlp",
    "--model-param",
    "depth=4",
    "--model-param",
    "width=32",
]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_inspect_zero_init_shows_the_permanent_symmetry_and_draws_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "figs" / "zeros.png"
    status, out, err = run_cli(
        capsys, "inspect", *DIGITS_MLP, "--init", "zeros", "--steps", "3", "--optimizer", "sgd",
        "--lr", "0.1", "--plot", str(plot),
    )  # fmt: skip
    assert status == 0, err
    for title in ("signal at step 0", "weight gradients at step 0", "symmetry (step 0 → 3)", "update order",
                  "gradient norm through depth at step 0", "output change at step 0"):  # fmt: skip
        assert title in out
    assert "random δ of relative size 0.001 0, the first update" in out  # zero weights are not perturbed
    assert "verdict: a permanent symmetry in 3 layer(s) (fc1, fc2, fc3)" in out
    assert "fc1: 32 of 32 units identical; permanent" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_default_init_has_no_permanent_symmetry(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "inspect", *DIGITS_MLP, "--init", "pytorch-default")
    assert status == 0
    assert "verdict: no permanent symmetry" in out and "update order" not in out  # no steps taken
    assert "input-output Jacobian at init (8 samples, eval mode): mean σ²" in out


def test_inspect_sets_up_a_data_dependent_init_as_a_run_does(capsys: pytest.CaptureFixture[str]) -> None:
    """LSUV needs a batch of the run's inputs: inspect gets it from the run setup, as ``train`` does."""
    status, out, err = run_cli(capsys, "inspect", *DIGITS_MLP, "--init", "lsuv", "--steps", "2")
    assert status == 0, err
    assert "mlp/lsuv(tol=0.1,max_iter=10,orthogonal=True)/s0 on a digits batch of 128" in out
    assert "2 training steps (adam, lr 0.001)" in out and "update order" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "--init", "xavier-normall"], "error: unknown scheme 'xavier-normall'"),
        (["inspect", *DIGITS_MLP, "--steps", "-1"], "error: Invalid value for '--steps'"),
        (["run", "--probe", "symetry"], "error: unknown probe 'symetry' (did you mean 'symmetry'?)"),
        (["run", "--probe-param", "every=3"], "error: 'every=3' is not of the form NAME.key=value"),
        (["run", "--probe-param", "signal.every=-3"], "error: probe 'signal': every=-3 is invalid"),
        (["probes", "nope"], "error: unknown probe 'nope'"),
    ],
)  # fmt: skip
def test_bad_probe_input_is_one_error_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--store", str(tmp_path / "r.db")] if args[0] == "run" else []
    status, out, err = run_cli(capsys, *args, *extra)
    assert status == 2 and err.startswith(message), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err


def test_run_with_probe_flags_stores_their_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    status, out, _ = run_cli(
        capsys, "run", *DIGITS_MLP, "--epochs", "1", "--probe", "update-order",
        "--probe-param", "symmetry.every=4", "--probe-param", "symmetry.rank=false", "--store", str(db),
    )  # fmt: skip
    assert status == 0 and "probe rows in the store: update-order" in out
    with Store(db) as store:
        (run,) = store.runs()
        assert (
            run.config["probes"]["symmetry"]["every"] == 4
            and run.config["probes"]["symmetry"]["rank"] is False
        )
        rows = store.probe_rows(run.id, "symmetry", name="largest_group")
        assert sorted({row.step for _, row in rows}) == list(range(10))  # first=10 covers all 9 steps
        assert store.probe_rows(run.id, "symmetry", name="rank") == []
        assert store.probe_rows(run.id, "update-order", layer="head.weight", name="first_change_step")


def test_probes_listing(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "probes")
    assert status == 0 and [line.split()[0] for line in out.strip().splitlines()] == PROBES.names()
    status, out, _ = run_cli(capsys, "probes", "symmetry")
    assert status == 0 and "θ = Pθ" in out and "rtol" in out
