"""Probe rows, audit rows and study claims as pandas DataFrames and as HTML tables in Jupyter."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from initlab.errors import ConfigError
from initlab.frames import HTML_ROWS, Tidy, html_table
from initlab.models import build_model
from initlab.probes import SignalProbe
from initlab.report import Claim
from initlab.studies.base import StudyReport


def test_probe_rows_become_a_frame_with_one_column_per_field() -> None:
    pandas = pytest.importorskip("pandas")
    model = build_model("mlp", input_shape=(1, 8, 8), width=16)
    probe = SignalProbe().attach(model)
    model(torch.rand(4, 1, 8, 8))
    rows = probe.record(0)
    frame = probe.to_frame()
    assert isinstance(frame, pandas.DataFrame) and list(frame.columns) == ["step", "layer", "name", "value"]
    assert len(frame) == len(rows) and frame.value.tolist() == [r.value for r in rows]
    assert probe._repr_html_().count("<tr>") == len(rows) + 1


def test_study_claims_become_one_row_each_with_their_numbers() -> None:
    report = StudyReport(
        Path("r.html"),
        [
            Claim("a", "zeros stay at the majority", "holds", {"accuracy": 0.1135}),
            Claim("b", "x < y", "fails"),
        ],
    )
    rows = report.tidy_rows()
    assert rows[0] == {
        "name": "a",
        "statement": "zeros stay at the majority",
        "verdict": "holds",
        "note": "",
        "accuracy": 0.1135,
    }
    html = report._repr_html_()
    assert "<th>accuracy</th>" in html and "<td>0.1135</td>" in html and "<td>fails</td>" in html


def test_html_tables_escape_and_cut_long_tables() -> None:
    assert (
        html_table([{"a": "<b>"}])
        == "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>"
    )
    long = html_table([{"i": i} for i in range(HTML_ROWS + 5)])
    assert long.count("<tr>") == HTML_ROWS + 1 and long.endswith("<p>5 more rows: .to_frame()</p>")


def test_to_frame_without_pandas_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class Rows(Tidy):
        def tidy_rows(self) -> list[dict]:
            return [{"a": 1}]

    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"to_frame\(\) needs pandas: pip install 'initlab\[pandas\]'"):
        Rows().to_frame()
