"""The report sections of grad-profile, output-change and coord-check, from real digits runs at three
widths in a store: the coordinate check across widths, its verdict words, and the depth overviews."""

from __future__ import annotations

import pytest
import torch

from initlab.config import RunConfig
from initlab.probes.coord_verdict import coord_verdicts
from initlab.report import PROBE_SECTIONS, build_report, group_conditions, load_runs, probe_table
from initlab.report.figures import png_bytes
from initlab.report.html import FigureBlock, TableBlock
from initlab.report.layout import clipped_titles
from initlab.report.probe_sections.common import ProbeRuns
from initlab.report.probe_sections.coord_check import coord_check_figure, family_values, width_families
from initlab.report.probe_sections.depth import (
    grad_profile_overview,
    output_change_figure,
    output_change_table,
)
from initlab.report.tables import Table
from initlab.store import Store
from initlab.train import train

WIDTHS = (64, 128, 256)
PROBES = {
    "coord-check": {"first": 3, "every": 0},
    "grad-profile": {"first": 2, "every": 0},
    "output-change": {"first": 2, "every": 0},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """He-init MLPs on digits under Adam (lr 0.01) at three widths, two seeds each."""
    path = tmp_path_factory.mktemp("depth") / "r.db"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with Store(path) as db:
        for width in WIDTHS:
            for seed in (0, 1):
                config = RunConfig(dataset="digits", model="mlp", model_params={"depth": 3, "width": width},
                                   init="he-normal", optimizer="adam", lr=1e-2, epochs=1, seed=seed,
                                   train_size=512, probes=PROBES)  # fmt: skip
                train(config, sink=db)
    torch.set_num_threads(threads)
    db = Store(path)
    yield db
    db.close()


def rows_of(store: Store, probe: str) -> Table:
    return probe_table(store, group_conditions(load_runs(store)), probe)


def test_the_coord_check_section_finds_the_widths_and_names_the_unstable_readout(store: Store) -> None:
    rows = rows_of(store, "coord-check")
    (family,) = width_families(ProbeRuns.of(rows)).values()
    assert sorted(family) == list(WIDTHS)
    values = family_values(ProbeRuns.of(rows), family)
    figure = coord_check_figure(values, coord_verdicts(values), "model=mlp(depth=3,width=*), init=he-normal")
    assert [ax.get_title() for ax in figure.axes] == [f"step {s} (muP t={s + 1})" for s in range(3)]
    assert len(figure.axes[2].get_lines()) == len(coord_verdicts(values))  # one line per module
    png_bytes(figure)
    assert clipped_titles(figure) == []
    section = PROBE_SECTIONS.get("coord-check").fn(rows)
    figures = [b for b in section.blocks if isinstance(b, FigureBlock)]
    assert len(figures) == 2 and "Unstable in width: " in figures[1].caption and "head" in figures[1].caption
    (verdicts,) = [b for b in section.blocks if isinstance(b, TableBlock)]
    head = next(r for r in verdicts.table.rows if r["module"] == "head")
    assert head["verdict"].startswith("unstable") and head["at step"] >= 1


def test_the_coord_check_words_follow_the_data(store: Store) -> None:
    """The same rows with every width given the smallest width's values: every module is stable."""
    rows = rows_of(store, "coord-check")
    smallest = {
        (r["seed"], r["step"], r["layer"]): r["value"] for r in rows.rows if "width=64" in r["condition"]
    }
    flat = Table(
        rows.columns, tuple(r | {"value": smallest[r["seed"], r["step"], r["layer"]]} for r in rows.rows)
    )
    section = PROBE_SECTIONS.get("coord-check").fn(flat)
    assert section.blocks[1].caption.endswith("Every module is stable.")
    (verdicts,) = [b for b in section.blocks if isinstance(b, TableBlock)]
    assert {r["verdict"] for r in verdicts.table.rows} == {"stable"}


def test_the_depth_sections_show_every_condition_and_layer(store: Store) -> None:
    runs = ProbeRuns.of(rows_of(store, "grad-profile"))
    grid = grad_profile_overview(runs).axes[0].get_images()[0].get_array()
    assert grid.shape == (len(WIDTHS), 3)  # fc1, fc2, head
    changes = output_change_table(ProbeRuns.of(rows_of(store, "output-change")))
    assert len(changes) == len(WIDTHS) * 2 and all(v > 0 for v in changes.column("update_change_relative"))
    section = PROBE_SECTIONS.get("output-change").fn(rows_of(store, "output-change"))
    chart = output_change_figure(changes, list(dict.fromkeys(changes.column("condition"))))
    assert [len(ax.get_lines()) for ax in chart.axes] == [len(WIDTHS), len(WIDTHS)]
    assert [b.name for b in section.blocks] == ["probe_output_change_chart", "probe_output_change"]
    report = build_report(store, group_conditions(load_runs(store)))
    titles = [s.title for s in report.sections]
    for title in ("Gradient norm through depth (probe grad-profile)", "Output change (probe output-change)",
                  "Coordinate check across widths (probe coord-check)"):  # fmt: skip
        assert title in titles
