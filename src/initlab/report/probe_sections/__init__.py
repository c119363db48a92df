"""The report sections of the probes: every report whose runs recorded a probe gets its charts.

Each module registers one builder in :data:`initlab.report.build.PROBE_SECTIONS` (importing
:mod:`initlab.report` imports this package, which registers them all); a builder turns the probe's
:func:`~initlab.report.tables.probe_table` over all of a report's conditions into one
:class:`~initlab.report.html.Section`:

- :mod:`.update_order` (``update-order``), :mod:`.gradients` (``grad-dist``),
  :mod:`.symmetry` (``symmetry``), :mod:`.signal` (``signal``), :mod:`.depth` (``grad-profile``,
  ``output-change``), :mod:`.coord_check` (``coord-check``, and muP's figure across widths);
- :mod:`.common`: the rows grouped by condition and run, which conditions detail figures draw;
- :mod:`.panels`: the shared layouts (condition × layer heatmaps, a row of panels per condition).

A section opens with overview figures of every condition and folds its per-condition detail figures
(``Details``), which draw at most ``MAX_DETAIL`` conditions (``MAX_LINES`` in line charts), evenly
spaced through the report's order. Each caption says which seed a figure shows (the lowest seed of
each condition) or how it averages over seeds; the CSV tables hold every row.
"""

# the import order is the order of the sections on the page
from initlab.report.probe_sections import update_order, gradients, symmetry, signal, depth, coord_check  # noqa: I001

__all__ = ["coord_check", "depth", "gradients", "signal", "symmetry", "update_order"]
