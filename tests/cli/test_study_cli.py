"""``initlab study list|run|report``: the listing, a run of chosen parts, and one-line errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from initlab.cli.app import main
from initlab.registry import Registry
from initlab.report import Claim
from initlab.store import Store
from initlab.studies import STUDIES, Analysis, Preset, Study, StudyRuns, base, get_study, register_study
from initlab.studies.verdicts import above, mean_interval
from initlab.sweep import expand, run_sweep
from initlab.train.loop import start_record


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def blobs_sweeps(preset: Preset) -> list[dict[str, Any]]:
    base = {"dataset": "synthetic-blobs", "model": "mlp", "epochs": 1 if preset == "quick" else 3}
    return [
        {"name": "default", "base": base, "axes": {"scheme": [{"init": "pytorch-default"}], "seed": "0..1"}},
        {"name": "zeros", "base": base, "axes": {"scheme": [{"init": "zeros"}], "seed": "0..1"}},
    ]


def blobs_analysis(data: StudyRuns) -> Analysis:
    accs = [r.record.summary["test_accuracy"] for r in data.select(init="pytorch-default")]
    mean, low, high = mean_interval(accs)
    claim = Claim("trains", "the default init trains above chance", above(low, high, 0.5), {"mean": mean})
    return Analysis([claim])


@pytest.fixture
def blobs_study(monkeypatch: pytest.MonkeyPatch) -> Study:
    """A cheap study, registered in a copy of the catalogue for the test."""
    study = Study("blobs", "Blobs", "Does the default train on blobs?", blobs_sweeps, blobs_analysis)
    catalogue: Registry[Study] = Registry("study")
    for known in [*(entry.fn for entry in STUDIES), study]:
        catalogue.register(known.name)(known)
    monkeypatch.setattr(base, "STUDIES", catalogue)
    return study


def test_list_names_every_study_with_its_run_counts(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "study", "list")
    assert status == 0
    assert len(STUDIES) == 8
    for study in (entry.fn for entry in STUDIES):
        quick = sum(len(expand(s)) for s in study.specs("quick"))
        assert study.name in out and f"quick {quick} runs" in out
    assert "parts mnist-fnn, mnist-cnn, fashion-fnn" in out


def test_a_run_of_one_part_trains_only_that_part_and_reports_from_the_store(
    blobs_study: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    args = ("study", "run", "blobs", "--part", "default", "--workers", "1", "--store", str(db))
    status, out, err = run_cli(capsys, *args)
    assert status == 0, out + err
    with Store(db) as store:
        runs = store.runs()
        assert {r.init for r in runs} == {"pytorch-default"} and len(runs) == 2
        assert len(store.runs(sweep="blobs-quick/default")) == 2
    assert "trains" in out and "holds" in out and "1 holds, 0 fails, 0 inconclusive" in out
    report = tmp_path / "studies" / "blobs-quick" / "report.html"
    assert f"report: {report}" in out.replace("\n", "") and report.is_file()

    status, out, _ = run_cli(capsys, *args)  # resumes: nothing left to train
    assert status == 0 and "(2 already done)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--preset", "huge"), "preset='huge' is not allowed; allowed: quick, full"),
        (("--part", "cifar"), "part of blobs (quick)='cifar' is not allowed; allowed: default, zeros"),
    ],
)
def test_bad_preset_or_part_is_one_line_naming_the_allowed_values(
    blobs_study: Study,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    status, _, err = run_cli(capsys, "study", "run", "blobs", *args, "--store", str(tmp_path / "r.db"))
    assert status == 2 and f"error: {message}" in err and "Traceback" not in err
    assert not (tmp_path / "r.db").exists()


def test_unknown_study_and_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "study", "run", "nope")
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "'nope'" in err and all(name in err for name in STUDIES.names())
    status, _, err = run_cli(capsys, "study", "report", "zero-symmetry", "--store", str(tmp_path / "x.db"))
    assert status == 2 and "does not exist; run the study first" in err


def test_the_catalogue_is_a_registry_of_studies() -> None:
    assert isinstance(STUDIES, Registry) and STUDIES.kind == "study"
    study = get_study("update-order")
    assert STUDIES.get("update-order").fn is study and get_study(study) is study
    with pytest.raises(ValueError, match="study 'update-order' is registered twice"):
        register_study(study)


def test_a_study_run_with_a_speed_option_counts_as_the_plain_run(
    blobs_study: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--fused-optimizer`` trains runs of their own (the option in their config and key); the report
    counts them as the study's runs and says so in its header; a plain ``study run`` does not train
    them again; where a config has a plain and a fused run, the plain one is reported, and plain and
    fused seeds of one config are one condition."""
    db = tmp_path / "r.db"
    common = ("--workers", "1", "--store", str(db))
    status, out, err = run_cli(
        capsys, "study", "run", "blobs", "--part", "default", *common, "--fused-optimizer"
    )
    assert status == 0, out + err
    with Store(db) as store:
        fused = store.runs()
        assert len(fused) == 2 and all(store.run(r.id).config["fused_optimizer"] is True for r in fused)
    status, out, err = run_cli(capsys, "study", "report", "blobs", "--store", str(db))
    page = (tmp_path / "studies" / "blobs-quick" / "report.html").read_text()
    assert status == 0 and "1 holds" in out and "fused_optimizer in 2 of 2 runs" in page, out + err

    status, out, err = run_cli(capsys, "study", "run", "blobs", *common)  # plain: only the zeros part trains
    assert status == 0 and "2 runs already finished with other speed options" in out, out + err
    page = (tmp_path / "studies" / "blobs-quick" / "report.html").read_text()
    assert "fused_optimizer in 2 of 4 runs" in page
    with Store(db) as store:
        assert len(store.runs()) == 4
        plain = next(c for c in blobs_study.configs("quick", ["default"]) if c.seed == 0)
        run_sweep([plain], store, workers=1)  # the plain twin of a fused run
        data = base.study_runs(blobs_study, "quick", store)
        chosen = [r.record.config for r in data.select(init="pytorch-default")]
        assert sorted((c["seed"], c["fused_optimizer"]) for c in chosen) == [(0, False), (1, True)]
        assert len(data.runs) == 4 and len(data.conditions(init="pytorch-default")) == 1
        seed1 = next(c for c in blobs_study.configs("quick", ["default"]) if c.seed == 1)
        store.start_run(start_record(seed1, "killed", "cpu"))  # a plain run of seed 1, killed mid-way
        data = base.study_runs(blobs_study, "quick", store)
        assert "killed" not in [r.id for r in data.runs] and len(data.runs) == 4  # the finished fused run


def test_a_compiled_study_is_refused_by_the_batched_engine_before_any_run(
    blobs_study: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("study", "run", "blobs", "--engine", "vmap", "--compile", "--store", str(tmp_path / "r.db"))
    status, _, err = run_cli(capsys, *args)
    assert status == 2 and "engine 'vmap' does not compile" in err and "Traceback" not in err
    with Store(tmp_path / "r.db") as store:
        assert store.runs() == []


def test_claim_numbers_print_as_the_report_shows_them() -> None:
    """4 significant digits, and NaN (a gap of runs not finished yet) as — rather than ``nan``."""
    from initlab.cli.commands.study import _numbers

    claim = Claim("c", "s", "inconclusive", {"gap": math.nan, "runs": 2, "mean": 0.971234})
    assert _numbers(claim) == "gap —, runs 2, mean 0.9712"
