"""``initlab coord-check``: the verdict table, the figure, and bad widths as one error line."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.cli.app import main

MLP = ["--dataset", "digits", "--model", "mlp", "--model-param", "depth=3", "--init", "he-normal"]


def test_coord_check_names_the_unstable_readout_and_draws_the_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "coord.png"
    status = main(["coord-check", "--widths", "64,128,256,512", "--seeds", "2", *MLP, "--optimizer", "adam",
                   "--lr", "0.01", "--plot", str(plot)])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    assert (
        "head (readout)" in out
        and "verdict: unstable in width: " in out
        and "head" in out.split("verdict:")[1]
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("widths", "message"),
    [
        ("64,x", "error: --widths must be comma-separated integers, got '64,x'"),
        ("128,64", "error: widths must be at least two distinct positive integers in increasing order"),
    ],
)
def test_bad_widths_are_one_error_line(widths: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["coord-check", "--widths", widths, *MLP])
    _, err = capsys.readouterr()
    assert status == 2 and err.startswith(message) and len(err.strip().splitlines()) == 1, err


def test_an_unknown_width_param_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["coord-check", "--widths", "8,16", "--width-param", "widht", *MLP])
    _, err = capsys.readouterr()
    assert status == 2 and "widht" in err and "Traceback" not in err, err
