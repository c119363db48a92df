"""Language-model runs from the command line: ``initlab run`` records bpc, ``initlab runs`` shows it,
``initlab inspect`` and the probes run on a decoder, bad dataset params are one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from initlab.cli.app import main
from initlab.store import Store

LM = [
    "--dataset", "shakespeare-char", "--dataset-param", "context=32", "--dataset-param", "eval_windows=32",
    "--model", "transformer", "--model-param", "kind=decoder", "--model-param", "depth=2",
    "--model-param", "width=32", "--model-param", "heads=2", "--batch-size", "16", "--device", "cpu",
]  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_records_bpc_at_each_evaluation_and_runs_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    status, out, err = run_cli(
        capsys, "run", *LM, "--max-steps", "8", "--eval-every", "4", "--lr", "0.01",
        "--probe", "grad-dist", "--store", db,
    )  # fmt: skip
    assert status == 0, err
    summary, probes = out.strip().splitlines()[-2:]
    assert summary.startswith("test bpc ") and "(finished)" in summary and "grad-dist" in probes
    with Store(db) as store:
        (run,) = store.runs()
        rows = store.metrics(run.id)
    assert run.config["max_steps"] == 8 and run.config["eval_every"] == 4
    bpc = {(r.step, r.split): r.value for r in rows if r.name == "bpc"}
    assert sorted(bpc) == [(s, split) for s in (0, 4, 8) for split in ("test", "val")]
    assert bpc[(8, "val")] < bpc[(0, "val")]
    assert any(r.name == "tokens_per_second" and r.value > 0 for r in rows)
    status, out, _ = run_cli(capsys, "runs", "--store", db)
    assert status == 0 and run.id in out and f"bpc {run.summary['test_bpc']:.3f}" in out
    report = tmp_path / "report"
    status, _, err = run_cli(capsys, "report", "--store", db, "--out", str(report), "--metric", "test_bpc")
    assert status == 0, err
    html = (report / "report.html").read_text()
    assert "Test bpc per step" in html and "the dataset&#x27;s own validation split" in html
    assert (report / "curves_test_bpc.csv").read_text().splitlines()[0].startswith("condition,metric,step,")
    status, _, err = run_cli(capsys, "report", "--store", db, "--out", str(tmp_path / "r2"))
    assert status == 2 and "no run recorded metric 'test_accuracy'; recorded: test_bpc" in err


def test_inspect_runs_the_probes_on_a_decoder(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "inspect", *LM, "--steps", "2")
    assert status == 0, err
    for title in ("signal at step 0", "weight gradients at step 0", "update order", "head"):
        assert title in out
    assert "input-output Jacobian: not defined for the language-model task" in out


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("context=0", "error: dataset 'shakespeare-char': context=0 is invalid"),
        ("window=64", "error: unknown parameter 'window' for dataset 'shakespeare-char'; allowed: context"),
    ],
)
def test_bad_dataset_params_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], param: str, message: str
) -> None:
    status, _, err = run_cli(
        capsys, "run", *LM, "--dataset-param", param, "--max-steps", "1", "--store", str(tmp_path / "r.db")
    )
    assert status == 2 and err.strip().startswith(message)
    assert not (tmp_path / "r.db").exists()
