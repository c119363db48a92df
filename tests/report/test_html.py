"""The HTML page: self-contained (figures as data URIs, nothing from a network) and escaped."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from initlab.errors import ConfigError
from initlab.report import (
    Claim,
    ClaimsBlock,
    Details,
    FigureBlock,
    Link,
    Report,
    Section,
    Table,
    TableBlock,
    Text,
    report_store,
)
from initlab.report.html import format_cell, render
from report_stores import Stores

DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_every_figure_is_embedded_and_nothing_points_to_a_network(stores: Stores, tmp_path: Path) -> None:
    page = report_store(stores.main, tmp_path).read_text()
    embedded = [base64.b64decode(data) for data in DATA_URI.findall(page)]
    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 2 and page.count("<img ") == len(embedded) == len(files)
    assert sorted(embedded) == sorted(p.read_bytes() for p in files)
    targets = re.findall(r'(?:src|href)\s*=\s*["\']?([^"\'\s>]+)', page)
    assert targets and not [t for t in targets if re.match(r"(https?:)?//", t)]
    assert "http:" not in page and "https:" not in page and "@import" not in page
    linked = {t for t in targets if not t.startswith(("data:", "#"))}
    assert linked == {p.name for p in tmp_path.iterdir() if p.suffix in (".png", ".csv")}


def test_text_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script> & "quotes"'
    table = Table.from_rows([{"condition": evil, "diverged": 2, "status": "diverged", "value": 0.123456}])
    report = Report(evil, {evil: evil}, [
        Section(evil, [Text(evil), TableBlock("t", table, evil),
                       ClaimsBlock([Claim(evil, evil, "fails", {evil: evil}, note=evil)])]),
    ])  # fmt: skip
    page = render(report)
    assert "<script>" not in page and '"x"' not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;") >= 9
    assert '<td class="num bad">2</td>' in page and '<td class="bad">diverged</td>' in page
    assert '<td class="num">0.1235</td>' in page
    assert '<span class="verdict fails">fails</span>' in page


def test_a_link_is_escaped_and_points_where_it_says() -> None:
    link = Link('the "other" <study>', '../x-quick/report.html?a=1&b="2"')
    page = render(Report("r", sections=[Section("S", [link])]))
    href = "../x-quick/report.html?a=1&amp;b=&quot;2&quot;"
    assert f'<p><a href="{href}">the &quot;other&quot; &lt;study&gt;</a></p>' in page


def test_claims_render_with_verdicts_and_numbers() -> None:
    claims = [
        Claim("zeros-majority", "zeros stays at the majority class", "holds", {"accuracy": 0.11349, "n": 5}),
        Claim("gap", "random biases within 1 point of the default", "inconclusive", note="quick preset"),
    ]
    page = render(Report("r", sections=[Section("Claims", [ClaimsBlock(claims)])]))
    assert '<span class="verdict holds">holds</span>' in page
    assert '<span class="verdict inconclusive">inconclusive</span>' in page
    assert "accuracy = 0.1135<br>n = 5" in page and "quick preset" in page
    assert "No claims were checked" in render(Report("r", sections=[Section("Claims", [ClaimsBlock([])])]))
    with pytest.raises(
        ConfigError, match="verdict of claim 'x'='maybe' is not allowed; allowed: holds, fails"
    ):
        Claim("x", "s", "maybe")  # type: ignore[arg-type]


def test_file_names_are_checked(tmp_path: Path) -> None:
    table = Table.from_rows([{"a": 1}])
    with pytest.raises(ConfigError, match=r"file name '\.\./x' is invalid"):
        TableBlock("../x", table)
    with pytest.raises(ConfigError, match="file name 'a b' is invalid"):
        FigureBlock("a b", b"")
    twice = Report(
        "r", sections=[Section("s", [TableBlock("t", table)]), Section("u", [TableBlock("t", table)])]
    )
    with pytest.raises(ConfigError, match=r"report files named twice: t\.csv"):
        twice.write(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is a file; give a folder"):
        Report("r").write(tmp_path / "file")
    page = render(Report("r", sections=[Section("Same"), Section("Same")]))
    assert 'href="#same"' in page and 'href="#same-2"' in page and 'id="same-2"' in page


def test_cells_format_numbers_and_missing_values() -> None:
    assert [format_cell(v) for v in (None, float("nan"), True, 3, 0.976543, "x")] == [
        "—", "—", "true", "3", "0.9765", "x",
    ]  # fmt: skip
    assert format_cell(0.976543, ".2%") == "97.65%"


def test_sections_and_blocks_fold_and_their_files_are_still_written(tmp_path: Path) -> None:
    table = Table.from_rows([{"a": 1}])
    folded = Details("per condition", [TableBlock("inner", table), Text("deep")])
    report = Report("r", sections=[
        Section("Open", [Text("shown"), folded]),
        Section("Appendix", [TableBlock("appendix", table)], folded=True),
    ])  # fmt: skip
    page = render(report)
    open_part, appendix = page.split('<section id="appendix">')
    assert "<h2>Open</h2><p>shown</p><details><summary>per condition</summary>" in open_part
    assert open_part.index("deep") < open_part.index("</details>")  # the folded blocks sit inside
    assert appendix.startswith('<details class="section"><summary><h2>Appendix</h2></summary>')
    assert "<details open>" in render(Report("r", sections=[Section("s", [Details("d", [], open=True)])]))
    report.write(tmp_path)
    assert {p.name for p in tmp_path.glob("*.csv")} == {"inner.csv", "appendix.csv"}
