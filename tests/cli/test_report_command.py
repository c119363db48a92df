"""``initlab report``: runs recorded with ``initlab run``, reported from the store, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.cli.app import main

BLOBS = ["--dataset", "synthetic-blobs", "--dataset-param", "n=400", "--model", "mlp",
         "--model-param", "width=8", "--epochs", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-report") / "r.db"
    for init in ("pytorch-default", "zeros"):
        for seed in ("0", "1"):
            assert main(["run", *BLOBS, "--init", init, "--seed", seed, "--store", str(path)]) == 0
    return path


def test_report_prints_the_path_of_the_page(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    status = main(["report", "--store", str(store), "--out", str(tmp_path / "rep"), "--init", "zeros"])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    path = Path(out.strip().splitlines()[-1])
    assert path == tmp_path / "rep" / "report.html" and path.is_file()
    page = path.read_text()
    assert "2 (2 finished) in 1 conditions" in page and "init=zeros" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "mnist"], "error: no runs in '{store}' with dataset=mnist"),
        (
            ["--metric", "test_acc"],
            "error: no run recorded metric 'test_acc'; recorded: test_accuracy, test_loss",
        ),
        (["--metric", "accuracy"], "error: metric 'accuracy' is not of the form SPLIT_NAME"),
    ],
)
def test_bad_selections_are_one_line_errors(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    status = main(["report", "--store", str(store), "--out", str(tmp_path), *args])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.startswith(message.format(store=store)) and err.count("\n") == 1


def test_a_missing_store_is_an_error_not_a_new_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["report", "--store", str(tmp_path / "none.db"), "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert status == 2 and "does not exist" in err and not (tmp_path / "none.db").exists()
