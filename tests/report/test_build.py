"""The standard report of a store: its files, metadata, sections, and the probe-section hook."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from initlab.errors import ConfigError
from initlab.registry import Registry
from initlab.report import (
    Claim,
    FigureBlock,
    Section,
    Table,
    TableBlock,
    build_report,
    final_table,
    group_conditions,
    load_runs,
    plot_final,
    report_store,
)
from initlab.store import Store
from report_stores import PROBE, Stores

STANDARD_FILES = [
    "curves_test_accuracy.csv",
    "curves_test_accuracy.png",
    "final_test_accuracy.csv",
    "final_test_accuracy.png",
    "report.html",
    "runs_test_accuracy.csv",
    "settings.csv",
]


def test_report_store_writes_the_page_figures_and_tables(stores: Stores, tmp_path: Path) -> None:
    path = report_store(stores.main, tmp_path / "out")
    assert path == tmp_path / "out" / "report.html"
    assert sorted(p.name for p in path.parent.iterdir()) == STANDARD_FILES
    with (path.parent / "final_test_accuracy.csv").open() as f:
        rows = list(csv.DictReader(f))
    with Store(stores.main) as store:
        final = final_table(group_conditions(load_runs(store)))
    assert [r["condition"] for r in rows] == final.column("condition")
    assert [float(r["mean"]) for r in rows] == final.column("mean")
    assert [(int(r["n"]), int(r["diverged"]), int(r["failed"])) for r in rows][3] == (2, 1, 1)
    page = path.read_text()
    assert "13 (11 finished, 1 diverged, 1 failed) in 4 conditions" in page
    assert f"<dd>{stores.main.resolve()}</dd>" in page and "2.13.0" in page
    for title in ("Test accuracy per epoch", "Final test accuracy", "Settings"):
        assert f"<h2>{title}</h2>" in page
    assert "Claims" not in page  # no claims given: no claims section
    assert '<details class="section"><summary><h2>Settings</h2>' in page  # an appendix: folded
    with (path.parent / "settings.csv").open() as f:
        settings = {r["setting"]: r["value"] for r in csv.DictReader(f)}
    assert settings["val_size"] == "60 (the dataset's default)"  # synthetic-blobs, n=600: a tenth
    assert settings["train_size"] == "the training split less the 60 validation samples"


def test_filters_and_metric_choose_what_is_reported(stores: Stores, tmp_path: Path) -> None:
    path = report_store(stores.main, tmp_path, init="zeros", metric="val_loss", title="zeros only")
    page = path.read_text()
    assert "<title>zeros only</title>" in page and "init=zeros" in page
    assert "3 (3 finished) in 1 conditions" in page and "val_loss, mean over seeds" in page
    assert (tmp_path / "final_val_loss.png").is_file()
    with pytest.raises(ConfigError, match=r"no runs in '.*main\.db' with dataset=mnist, init=zeros"):
        report_store(stores.main, tmp_path, dataset="mnist", init="zeros")
    with pytest.raises(ConfigError, match="does not exist"):
        report_store(tmp_path / "missing.db", tmp_path)
    assert not (tmp_path / "missing.db").exists()


def test_claims_and_study_sections_come_in_order(stores: Stores, tmp_path: Path) -> None:
    with Store(stores.main) as store:
        conditions = group_conditions(load_runs(store))
        claims = [Claim("zeros-majority", "zeros stays at chance", "holds", {"accuracy": 0.25})]
        extra = Section("Bias scale", [FigureBlock.of("heat", plot_final(final_table(conditions)))])
        report = build_report(store, conditions, title="study", claims=claims, sections=[extra])
    assert [s.title for s in report.sections] == [
        "Claims", "Test accuracy per epoch", "Final test accuracy", "Bias scale", "Settings",
    ]  # fmt: skip
    report.write(tmp_path)
    assert (tmp_path / "heat.png").is_file()
    with pytest.raises(ConfigError, match="at least one run"):
        build_report(store, [])


def test_registered_probe_sections_join_reports_whose_runs_have_rows(stores: Stores) -> None:
    charts: Registry = Registry("probe section")
    seen: list[Table] = []

    @charts.register(PROBE)
    def weight_norms(rows: Table) -> Section:
        seen.append(rows)
        return Section("Weight norms", [TableBlock("weight_norms", rows)])

    with Store(stores.main) as store:
        report = build_report(store, group_conditions(load_runs(store)), probe_charts=charts)
    assert "Weight norms" in [s.title for s in report.sections]
    assert set(seen[0].column("probe")) == {PROBE} and len(set(seen[0].column("condition"))) == 3
    with Store(stores.lr_sweep) as store:  # no probe rows there: no section
        report = build_report(store, group_conditions(load_runs(store)), probe_charts=charts)
    assert "Weight norms" not in [s.title for s in report.sections]


def test_a_condition_shown_in_two_groups_counts_once(stores: Stores) -> None:
    with Store(stores.main) as store:
        conditions = group_conditions(load_runs(store))
        shared = group_conditions(load_runs(store, init="zeros"))  # a baseline shown in both groups
        groups = {"a": conditions[:2] + shared, "b": conditions[2:] + shared}
        report = build_report(store, [c for group in groups.values() for c in group], groups=groups)
    assert report.metadata["runs"] == "13 (11 finished, 1 diverged, 1 failed) in 4 conditions"
    assert [s.title for s in report.sections][:2] == ["Test accuracy per epoch: a", "Final test accuracy: a"]
