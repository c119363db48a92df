"""Reports drawn from the store: tidy tables, figures, claims and one self-contained HTML page.

The report reads only the store (never a run held in memory):
``load_runs`` -> ``group_conditions`` -> tables (``curve_table``, ``final_table``, ``run_table``,
``probe_table``) -> figures (``plot_*``) -> ``build_report`` -> ``Report.write``. The probes' sections
(:mod:`initlab.report.probe_sections`) join every report whose runs recorded them.
"""

from initlab.report import probe_sections  # noqa: F401  (registers the probes' report sections)
from initlab.report.build import PROBE_SECTIONS, build_report, metric_sections, report_store
from initlab.report.claims import VERDICTS, Claim, Verdict
from initlab.report.figures import plot_curves, plot_final, plot_metric_vs_param, png_bytes
from initlab.report.html import ClaimsBlock, Details, FigureBlock, Link, Report, Section, TableBlock, Text
from initlab.report.runs import Condition, StoredRun, group_conditions, load_runs
from initlab.report.series import palette
from initlab.report.stats import Interval, mean_ci, t_quantile
from initlab.report.tables import Table, curve_table, final_table, probe_table, run_table

__all__ = [
    "PROBE_SECTIONS",
    "VERDICTS",
    "Claim",
    "ClaimsBlock",
    "Condition",
    "Details",
    "FigureBlock",
    "Interval",
    "Link",
    "Report",
    "Section",
    "StoredRun",
    "Table",
    "TableBlock",
    "Text",
    "Verdict",
    "build_report",
    "curve_table",
    "final_table",
    "group_conditions",
    "load_runs",
    "mean_ci",
    "metric_sections",
    "palette",
    "plot_curves",
    "plot_final",
    "plot_metric_vs_param",
    "png_bytes",
    "probe_table",
    "report_store",
    "run_table",
    "t_quantile",
]
