"""The command line: runs recorded, listings, and one-line errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from initlab.cli.app import main
from initlab.store import Store

BLOBS = ["--dataset", "synthetic-blobs", "--model", "mlp", "--model-param", "width=16", "--epochs", "1"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_records_the_run_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    status, out, _ = run_cli(
        capsys, "run", *BLOBS, "--init", "zero-weight-random-bias", "--init-param", "dist=uniform",
        "--init-param", "scale=0.5", "--seed", "4", "--store", str(db),
    )  # fmt: skip
    assert status == 0
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("test accuracy ") and "(finished)" in summary
    with Store(db) as store:
        (run,) = store.runs()
    assert run.config["init_params"] == {"dist": "uniform", "scale": 0.5, "shift": 0.0}
    assert run.seed == 4 and run.id in summary

    status, out, _ = run_cli(capsys, "runs", "--store", str(db))
    assert status == 0 and run.id in out and "zero-weight-random-bias" in out
    status, out, _ = run_cli(capsys, "export", "--csv", str(tmp_path / "csv"), "--store", str(db))
    assert status == 0 and (tmp_path / "csv" / "runs.csv").exists()


def test_config_file_with_flag_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text('dataset = "synthetic-blobs"\nmodel = "mlp"\nepochs = 2\nseed = 9\n')
    status, _, _ = run_cli(
        capsys, "run", "--config", str(cfg), "--epochs", "1", "--store", str(tmp_path / "r.db")
    )
    assert status == 0
    with Store(tmp_path / "r.db") as store:
        (run,) = store.runs()
    assert (run.config["epochs"], run.seed) == (1, 9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--init", "xavier-normall"], "error: unknown scheme 'xavier-normall'"),
        (["run", *BLOBS, "--init", "zero-weight-random-bias", "--init-param", "dist=cauchy"],
         "error: scheme 'zero-weight-random-bias': dist='cauchy' is invalid: Input should be 'normal' or"),
        (["run", "--lr", "0"], "error: lr=0.0 is invalid: Input should be greater than 0"),
        (["run", "--epochs", "many"], "error: Invalid value for '--epochs'"),
        (["run", "--config", "missing.toml"], "error: config file 'missing.toml' does not exist"),
        (["run", "--model-param", "depth"], "error: 'depth' is not of the form key=value"),
        (["run", "--dataset", "digits", "--model", "mnist-fnn"], "error: model 'mnist-fnn' takes inputs of"),
        (["schemes", "nope"], "error: unknown scheme 'nope'"),
        (["frobnicate"], "error: No such command 'frobnicate'"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = (
        run_cli(capsys, *args, "--store", str(tmp_path / "r.db"))
        if args[0] == "run"
        else run_cli(capsys, *args)
    )
    assert status == 2
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    assert not (tmp_path / "r.db").exists() or Store(tmp_path / "r.db").runs() == []  # nothing half-recorded


def test_malformed_toml_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("epochs = [\n")
    status, _, err = run_cli(capsys, "run", "--config", str(cfg))
    assert status == 2 and "bad.toml' is not valid TOML" in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from initlab.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        main(["--debug", "schemes", "nope"])


def test_listings_have_one_line_per_entry(capsys: pytest.CaptureFixture[str]) -> None:
    from initlab.data import DATASETS
    from initlab.models import MODELS
    from initlab.schemes import SCHEMES

    for command, registry in (("schemes", SCHEMES), ("models", MODELS), ("datasets", DATASETS)):
        status, out, _ = run_cli(capsys, command)
        lines = out.strip().splitlines()
        assert status == 0 and len(lines) == len(registry)
        assert [line.split()[0] for line in lines] == registry.names()
    status, out, _ = run_cli(capsys, "schemes", "zero-weight-random-bias")
    assert status == 0 and "N(shift, scale²)" in out and "normal | uniform" in out


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [Path(sys.executable).with_name("initlab"), "schemes"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "zero-weight-random-bias" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "initlab", "run", "--lr", "-1"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.startswith("error: lr=-1.0 is invalid")


def test_scheme_listing_gives_family_paper_and_params(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "schemes")
    line = next(line for line in out.splitlines() if line.startswith("fixup "))
    assert status == 0 and "residual" in line and "Zhang, Dauphin & Ma 2019, arXiv 1901.09321" in line
    assert "strict=True" in line
    status, out, _ = run_cli(capsys, "schemes", "deepnorm")
    assert (
        status == 0 and "β = (8N)^(−1/4)" in out and "1.15·(N⁴M)^(−1/16)" in out
    )  # formula, ref discrepancy
    status, out, _ = run_cli(capsys, "schemes", "lsuv")
    assert status == 0 and "apply_init(model, 'lsuv', data=x)" in out and "max_iter" in out


def test_pytorch_transformer_shows_the_measured_encoder_layer(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "schemes", "pytorch-transformer")
    assert (
        status == 0
        and "self_attn.in_proj_weight" in out
        and "xavier_uniform_ on the fused (3d×d) matrix" in out
    )
