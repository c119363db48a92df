"""The report as one self-contained HTML page: sections of text, figures, tables and claims.

:meth:`Report.write` puts ``report.html`` in a folder, with every figure embedded as a base64
``data:image/png`` URI and the CSS inline (nothing is fetched from a network), and beside it each
figure as a PNG file and each table as a CSV file. Every piece of text is escaped.

Build a report from :class:`Section` objects; a section is a title and a list of blocks
(:class:`Text`, :class:`FigureBlock`, :class:`TableBlock`, :class:`ClaimsBlock`, :class:`Details`).
Long material folds away so the page stays short: ``Section(title, blocks, folded=True)`` shows only
its title until opened, ``Details(summary, blocks)`` folds some blocks of a section under a one-line
summary, and ``TableBlock(..., collapsed=True)`` folds a table under its caption (all HTML
``<details>``: no script, and the browser's find-in-page still opens them).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from initlab.errors import ConfigError
from initlab.report.claims import Claim
from initlab.report.figures import png_bytes
from initlab.report.tables import Table

REPORT_FILE = "report.html"
NUM = ' class="num"'
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Columns whose non-zero values, and statuses, that mark runs left out of means.
_BAD_COLUMNS = ("diverged", "failed", "unfinished")
_BAD_STATUSES = ("diverged", "failed", "running")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(f"file name {name!r} is invalid: use letters, digits, '_', '-', '.'")
    return name


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Link:
    """A paragraph that links to another page (e.g. a related study's report, by relative path)."""

    text: str
    href: str


@dataclass(frozen=True)
class FigureBlock:
    """A figure, kept as PNG bytes; written as ``<name>.png`` and embedded in the page."""

    name: str
    png: bytes
    caption: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def of(cls, name: str, figure: Figure, caption: str = "") -> FigureBlock:
        """The block of ``figure`` rendered to PNG now (the figure itself is not kept)."""
        return cls(name, png_bytes(figure), caption)


@dataclass(frozen=True)
class TableBlock:
    """A table, written in full as ``<name>.csv`` and shown with ``columns`` (default: all).

    ``formats`` maps a column to a format spec (e.g. ``".4f"``); other floats show 4 significant digits.
    ``collapsed`` folds the table under its caption (for long per-run tables).
    """

    name: str
    table: Table
    caption: str = ""
    columns: Sequence[str] | None = None
    formats: Mapping[str, str] = field(default_factory=dict)
    collapsed: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name)


@dataclass(frozen=True)
class ClaimsBlock:
    """The claims a study checked, with their verdicts and numbers."""

    claims: Sequence[Claim]


@dataclass(frozen=True)
class Details:
    """Blocks folded under a one-line ``summary`` (an HTML ``<details>``), e.g. one figure per
    condition that a reader opens when they want it; ``open`` shows them unfolded at first."""

    summary: str
    blocks: Sequence[Block]
    open: bool = False


Block = Text | Link | FigureBlock | TableBlock | ClaimsBlock | Details


@dataclass
class Section:
    """A titled part of the report: its blocks in order; ``folded`` shows only the title until opened
    (for long appendix-like sections: per-run tables, detail figures)."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    folded: bool = False

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


@dataclass
class Report:
    """A report: a title, metadata shown as a key/value list, and sections in order."""

    title: str
    metadata: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    def add(self, section: Section) -> Section:
        """Append ``section`` (the hook studies and instruments use to add their own charts)."""
        self.sections.append(section)
        return section

    def write(self, directory: str | Path) -> Path:
        """Write ``report.html``, the figures (PNG) and the tables (CSV) into ``directory``."""
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise ConfigError(f"report folder {str(directory)!r} is a file; give a folder")
        names = [f"{b.name}.png" for b in self._blocks(FigureBlock)] + [
            f"{b.name}.csv" for b in self._blocks(TableBlock)
        ]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"report files named twice: {', '.join(duplicates)}; give each block its own name"
            )
        directory.mkdir(parents=True, exist_ok=True)
        for block in self._blocks(FigureBlock):
            (directory / f"{block.name}.png").write_bytes(block.png)
        for block in self._blocks(TableBlock):
            block.table.to_csv(directory / f"{block.name}.csv")
        path = directory / REPORT_FILE
        path.write_text(render(self), encoding="utf-8")
        return path

    def _blocks(self, kind: type) -> list[Any]:
        return [b for s in self.sections for b in _flat(s.blocks) if isinstance(b, kind)]


def _flat(blocks: Sequence[Block]) -> list[Block]:
    """The blocks with those inside :class:`Details` in their place (in page order)."""
    return [leaf for b in blocks for leaf in (_flat(b.blocks) if isinstance(b, Details) else [b])]


def format_cell(value: Any, spec: str | None = None) -> str:
    """A table cell as text: floats with ``spec`` (default 4 significant digits), NaN and None as —."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float | int) and spec:
        return format(value, spec)
    if isinstance(value, float):
        return format(value, ".4g")
    return str(value)


def _is_bad(column: str, value: Any) -> bool:
    return (column in _BAD_COLUMNS and isinstance(value, int) and value > 0) or (
        column == "status" and value in _BAD_STATUSES
    )


def _render_table(block: TableBlock) -> str:
    columns = list(block.columns or block.table.columns)
    missing = [c for c in columns if c not in block.table.columns]
    if missing:
        raise ConfigError(
            f"table {block.name!r} has no column {missing[0]!r}; columns: {block.table.columns}"
        )
    first = block.table.rows[0] if len(block.table) else {}
    numeric = {c for c in columns if isinstance(first.get(c), float | int)}
    head = "".join(f"<th{NUM if c in numeric else ''}>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in block.table:
        cells = []
        for c in columns:
            value = row.get(c)
            classes = [
                cls for cls, on in (("num", isinstance(value, float | int)), ("bad", _is_bad(c, value))) if on
            ]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{html.escape(format_cell(value, block.formats.get(c)))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    link = f'<a href="{html.escape(block.name)}.csv">{html.escape(block.name)}.csv</a>'
    caption = f"{html.escape(block.caption)} ({link}, {len(block.table)} rows)"
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if block.collapsed:
        return _details(f'<summary>{caption}</summary><div class="scroll">{table}</div>')
    return f'<p class="caption">{caption}</p><div class="scroll">{table}</div>'


def _render_figure(block: FigureBlock) -> str:
    data = base64.b64encode(block.png).decode("ascii")
    name = html.escape(block.name)
    caption = html.escape(block.caption)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{caption or name}">'
        f'<figcaption>{caption} (<a href="{name}.png">{name}.png</a>)</figcaption></figure>'
    )


def _render_claims(block: ClaimsBlock) -> str:
    if not block.claims:
        return '<p class="muted">No claims were checked.</p>'
    rows = []
    for claim in block.claims:
        numbers = "<br>".join(
            f"{html.escape(str(k))} = {html.escape(format_cell(v))}" for k, v in claim.numbers.items()
        )
        note = f'<div class="muted">{html.escape(claim.note)}</div>' if claim.note else ""
        rows.append(
            f"<tr><td><code>{html.escape(claim.name)}</code></td><td>{html.escape(claim.statement)}{note}</td>"
            f'<td><span class="verdict {claim.verdict}">{html.escape(claim.verdict)}</span></td>'
            f'<td class="numbers">{numbers}</td></tr>'
        )
    head = "<tr><th>claim</th><th>statement</th><th>verdict</th><th>numbers</th></tr>"
    table = f'<table class="claims"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _render_block(block: Block) -> str:
    if isinstance(block, Text):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Link):
        return f'<p><a href="{html.escape(block.href)}">{html.escape(block.text)}</a></p>'
    if isinstance(block, FigureBlock):
        return _render_figure(block)
    if isinstance(block, TableBlock):
        return _render_table(block)
    if isinstance(block, Details):
        inner = "".join(_render_block(b) for b in block.blocks)
        return _details(f"<summary>{html.escape(block.summary)}</summary>{inner}", block.open)
    return _render_claims(block)


def _details(content: str, opened: bool = False, cls: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (" open" if opened else "")
    return f"<details{attrs}>{content}</details>"


def _render_section(section: Section, anchor: str) -> str:
    title = f"<h2>{html.escape(section.title)}</h2>"
    body = "".join(_render_block(b) for b in section.blocks)
    if section.folded:
        return (
            f'<section id="{anchor}">{_details(f"<summary>{title}</summary>{body}", cls="section")}</section>'
        )
    return f'<section id="{anchor}">{title}{body}</section>'


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d232a;
  margin: 0 auto; max-width: 1100px; padding: 1.5rem 2rem 4rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #d5dbe1; padding-bottom: 0.2rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; font-size: 0.9rem; }
dl.meta dt { color: #5b6670; }
dl.meta dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
nav ol { columns: 2; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.4rem 0 1rem; }
th, td { border-bottom: 1px solid #e3e7eb; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
  font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
td:first-child { white-space: nowrap; }
td.bad { color: #b03a2e; font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0 1.5rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eef1f4; }
figcaption, .caption, .muted { color: #5b6670; font-size: 0.85rem; }
.verdict { padding: 0.1rem 0.5rem; border-radius: 0.8rem; font-weight: 600; font-size: 0.8rem;
  white-space: nowrap; }
.verdict.holds { background: #d8f3dc; color: #1b5e20; }
.verdict.fails { background: #fde2e1; color: #a4262c; }
.verdict.inconclusive { background: #fff3cd; color: #7a5b00; }
table.claims td:first-child { white-space: normal; overflow-wrap: anywhere;
  min-width: 9rem; max-width: 15rem; }
table.claims td:nth-child(2) { min-width: 22rem; }
td.numbers { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.8rem;
  white-space: nowrap; }
details summary { cursor: pointer; color: #5b6670; font-size: 0.85rem; margin: 0.4rem 0; }
details.section > summary { color: inherit; font-size: 1rem; }
details.section > summary h2 { display: inline-block; width: calc(100% - 1.5rem); }
"""


def render(report: Report) -> str:
    """The report as one HTML document (escaped text, inline CSS, figures as data URIs)."""
    meta = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in report.metadata.items()
    )
    anchors = _unique_anchors(report.sections)
    toc = "".join(
        f'<li><a href="#{a}">{html.escape(s.title)}</a></li>'
        for s, a in zip(report.sections, anchors, strict=True)
    )
    sections = "".join(_render_section(s, a) for s, a in zip(report.sections, anchors, strict=True))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(report.title)}</title><style>{CSS}</style></head>\n<body>"
        f'<h1>{html.escape(report.title)}</h1><dl class="meta">{meta}</dl>'
        f"<nav><ol>{toc}</ol></nav>{sections}</body></html>\n"
    )


def _unique_anchors(sections: Sequence[Section]) -> list[str]:
    seen: dict[str, int] = {}
    anchors = []
    for s in sections:
        seen[s.anchor] = seen.get(s.anchor, 0) + 1
        anchors.append(s.anchor if seen[s.anchor] == 1 else f"{s.anchor}-{seen[s.anchor]}")
    return anchors
