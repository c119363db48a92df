"""The depth sections: ``grad-profile`` (gradient norm per layer group through depth, Xiong et al.
2020; NormFormer 2021) and ``output-change`` (Admin's amplification, Liu et al. 2020)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from initlab.probes.table import pivot, steps
from initlab.report.build import PROBE_SECTIONS
from initlab.report.figures import new_figure, styled
from initlab.report.html import FigureBlock, Section, TableBlock
from initlab.report.probe_sections.common import MAX_LINES, ProbeRuns, evenly_spaced, geometric_mean, log10
from initlab.report.probe_sections.panels import condition_heatmap, heatmap_figure
from initlab.report.series import series_styles
from initlab.report.tables import Table

OUTPUT_CHANGES = ("perturbation_change_relative", "update_change_relative")


@styled
def grad_profile_overview(runs: ProbeRuns) -> Figure:
    """log10 ‖∂L/∂θ‖ per layer group at each run's first recorded step, geometric mean over seeds."""
    cells: dict[str, list[float]] = {}
    for condition in runs.labels:
        norms = [pivot(rows, "grad_norm") for rows in runs.runs(condition)]
        first = {group: min(by_step) for group, by_step in norms[0].items()} if norms else {}
        cells[condition] = [
            log10(geometric_mean([n.get(group, {}).get(step, 0.0) for n in norms]))
            for group, step in first.items()
        ]
    fig, (ax,), _ = heatmap_figure(len(cells))
    condition_heatmap(ax, cells, align="left", label="log10 ‖∂L/∂θ‖", fmt="{:.1f}", cmap="magma",
                      xlabel="layer group (a residual block or a module) from the input")  # fmt: skip
    ax.set_title("gradient norm per layer group at the first recorded step")
    return fig


@PROBE_SECTIONS.register("grad-profile")
def grad_profile_section(rows: Table) -> Section:
    """Gradient norms through depth: the overview heatmap."""
    runs = ProbeRuns.of(rows)
    return Section(
        "Gradient norm through depth (probe grad-profile)",
        [
            FigureBlock.of(
                "probe_grad_profile_overview",
                grad_profile_overview(runs),
                "log10 of the L2 norm of each layer group's gradient (a residual block's parameters, or a "
                "module's: embedding, head) at the first recorded step, geometric mean over seeds. Post-LN "
                "transformers are expected to be largest near the output at init (Xiong et al. 2020), "
                "pre-LN ones largest in the early layers (NormFormer's gradient magnitude mismatch).",
            )
        ],
    )


def output_change_table(runs: ProbeRuns) -> Table:
    """Per condition and step: the relative output change of the perturbation and of the update,
    geometric mean over seeds."""
    table = []
    for condition in runs.labels:
        series = [
            {name: pivot(rows, name).get("model", {}) for name in OUTPUT_CHANGES}
            for rows in runs.runs(condition)
        ]
        for step in steps([r for rows in runs.runs(condition) for r in rows if r.layer == "model"]):
            row: dict[str, object] = {"condition": condition, "step": step}
            for name in OUTPUT_CHANGES:
                row[name] = geometric_mean([s[name].get(step, 0.0) for s in series])
            table.append(row)
    return Table.from_rows(table, ["condition", "step", *OUTPUT_CHANGES])


@styled
def output_change_figure(table: Table, shown: list[str]) -> Figure:
    """The relative output change per recorded step, one line per shown condition, a panel per kind."""
    fig = new_figure(11, 3.4)
    axes = fig.subplots(1, len(OUTPUT_CHANGES), squeeze=False)[0]
    styles = series_styles(shown)
    for ax, name, title in zip(
        axes, OUTPUT_CHANGES, ("random perturbation", "the step's update"), strict=True
    ):
        for condition in shown:
            points = [(r["step"], r[name]) for r in table.rows if r["condition"] == condition and r[name] > 0]
            xs, ys = [s for s, _ in points], [v for _, v in points]
            ax.plot(xs, ys, ms=3, label=condition, **styles[condition].kwargs())
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step")
        ax.set_title(f"output change of {title}", fontsize=9)
    axes[0].set_ylabel("E‖ΔF‖² / E‖F‖²")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", fontsize=7, ncols=2)
    return fig


@PROBE_SECTIONS.register("output-change")
def output_change_section(rows: Table) -> Section:
    """Admin's output change: the table of relative changes per step."""
    runs = ProbeRuns.of(rows)
    table = output_change_table(runs)
    shown = evenly_spaced(runs.labels, MAX_LINES)
    return Section(
        "Output change (probe output-change)",
        [
            FigureBlock.of(
                "probe_output_change_chart",
                output_change_figure(table, shown),
                "Relative output change per recorded step (log scale), geometric mean over seeds; "
                "the table below holds every condition." + runs.detail_note(shown),
            ),
            TableBlock(
                "probe_output_change",
                table,
                "E‖F(x, W) − F(x, W + δ)‖² / E‖F(x, W)‖² for a random δ of fixed relative size per "
                "parameter tensor (perturbation) and for the step's own optimizer update, geometric mean "
                "over seeds. Admin (Liu et al. 2020): it grows as O(N) with the depth N of a post-LN "
                "transformer, as O(log N) for pre-LN.",
                formats={name: ".3g" for name in OUTPUT_CHANGES},
            ),
        ],
    )
