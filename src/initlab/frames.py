"""Tidy rows to pandas and to Jupyter: one mixin for probe results, audits and study claims.

A class with a ``tidy_rows()`` method (a list of flat dicts, one per row) gets ``to_frame()``, a
``pandas.DataFrame`` of those rows (pandas is an optional extra: ``pip install 'initlab[pandas]'``),
and ``_repr_html_()``, the rows as an HTML table, which Jupyter shows (no pandas needed).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from initlab.errors import ConfigError

if TYPE_CHECKING:
    import pandas

#: Rows beyond this are left out of the HTML table (the frame has them all).
HTML_ROWS = 200


def row_dict(row: Any) -> dict[str, Any]:
    """A dataclass, NamedTuple or mapping as a flat dict."""
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return dataclasses.asdict(row)
    if hasattr(row, "_asdict"):
        return dict(row._asdict())
    if isinstance(row, Mapping):
        return dict(row)
    raise TypeError(f"a tidy row must be a dataclass, NamedTuple or mapping, not {type(row).__name__}")


def html_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as an HTML table (floats with 4 significant digits), at most ``HTML_ROWS`` of them."""
    rows = list(rows)
    if not rows:
        return "<p><em>no rows</em></p>"
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value: Any) -> str:
        text = f"{value:.4g}" if isinstance(value, float) else ("" if value is None else str(value))
        return f"<td>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(row.get(c)) for c in columns) + "</tr>" for row in rows[:HTML_ROWS])
    more = f"<p>{len(rows) - HTML_ROWS} more rows: .to_frame()</p>" if len(rows) > HTML_ROWS else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


class Tidy:
    """Mixin: ``to_frame()`` and ``_repr_html_()`` from the subclass's ``tidy_rows()``."""

    def tidy_rows(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def to_frame(self) -> pandas.DataFrame:
        """The rows as a ``pandas.DataFrame`` (one column per field)."""
        try:
            import pandas
        except ImportError:
            raise ConfigError("to_frame() needs pandas: pip install 'initlab[pandas]'") from None
        return pandas.DataFrame(self.tidy_rows())

    def _repr_html_(self) -> str:
        return html_table(self.tidy_rows())
