"""The bias-scale analysis: the stored runs -> per-scale results -> claims, prose, figures, tables."""

from __future__ import annotations

import math

from initlab.report import FigureBlock, Section, Table, TableBlock, Text
from initlab.studies.base import Analysis, StudyRuns
from initlab.studies.bias_scale.claims import setting_claims
from initlab.studies.bias_scale.figures import (
    ACCURACY_RANGE,
    JAGGEDNESS_RANGE,
    plot_against_scale,
    plot_single_runs,
)
from initlab.studies.bias_scale.grid import LARGE_SCALE, REFERENCE_SCALE
from initlab.studies.bias_scale.results import Results, ScaleResult, by_setting, results_of, variance
from initlab.studies.bias_scale.text import seed_study_text
from initlab.studies.verdicts import mean_interval

#: The columns that hold the bias scale and the (dataset, model) setting in this study's tables.
SCALE, SETTING = "bias_scale", "setting"


def stability_table(results: Results) -> Table:
    """Per setting and scale: run counts, final accuracy (mean, CI, variance) and jaggedness."""
    rows = []
    for setting, by_scale in results.items():
        for scale, r in by_scale.items():
            mean, low, high = mean_interval(r.accuracies)
            j_mean, j_low, j_high = mean_interval(r.jagged)
            rows.append(
                {
                    SETTING: setting,
                    SCALE: scale,
                    "runs": len(r.condition.runs),
                    "finished": len(r.accuracies),
                    "diverged": r.diverged,
                    "accuracy": mean,
                    "ci low": low,
                    "ci high": high,
                    "variance": variance(r.accuracies),
                    "jaggedness": j_mean,
                    "J ci low": j_low,
                    "J ci high": j_high,
                    "drops per run": sum(r.drops) / len(r.drops) if r.drops else math.nan,
                }
            )
    return Table.from_rows(rows)


def stability_section(results: Results) -> Section:
    """Final accuracy and jaggedness against the bias scale: two figures and the table."""
    return Section(
        "Stability against the bias scale",
        [
            Text(
                "Zero weights, biases b ~ N(0, s²). The jaggedness J of a run's per-epoch test-accuracy "
                "curve a_0 … a_E (a_0 at init) is Σ max(0, a_{e−1} − a_e): the accuracy lost to drops, 0 "
                "for a curve that never falls, however fast it rises. Diverged runs (non-finite loss) are "
                "counted, never averaged. Each model is drawn only at the scales it ran."
            ),
            FigureBlock.of(
                "accuracy_vs_bias_scale",
                plot_against_scale(
                    results,
                    lambda r: r.accuracies,
                    label="final test accuracy",
                    value_range=ACCURACY_RANGE,
                    title="final test accuracy and its spread vs. the bias scale",
                ),
                "final test accuracy (mean, 95% CI within [0, 1]; hollow markers: seeds) and its "
                "across-seed variance against the bias scale; ✕ marks diverged runs",
            ),
            FigureBlock.of(
                "jaggedness_vs_bias_scale",
                plot_against_scale(
                    results,
                    lambda r: r.jagged,
                    label="jaggedness J",
                    value_range=JAGGEDNESS_RANGE,
                    title="jaggedness of the test-accuracy curve and its spread vs. the bias scale",
                ),
                "jaggedness J (mean, 95% CI drawn from 0 up, as J ≥ 0; the table holds the interval as "
                "computed; hollow markers: seeds) and its across-seed variance against the bias scale",
            ),
            TableBlock(
                "stability", stability_table(results), "final test accuracy and stability per bias scale"
            ),
        ],
    )


def single_runs_figure(setting: str, by_scale: dict[float, ScaleResult]) -> FigureBlock | None:
    """Every run's test-accuracy curve at scales 1 and 100: jaggedness shows in single runs, where a
    mean over seeds would smooth it."""
    chosen = [by_scale[s] for s in (REFERENCE_SCALE, LARGE_SCALE) if s in by_scale]
    if not chosen:
        return None
    return FigureBlock.of(
        "single_runs_" + setting.replace(" ", "_"),
        plot_single_runs(
            chosen, title=f"{setting}: test accuracy per epoch of every run at bias scales 1 and 100"
        ),
        "each line is one run (no mean over seeds, so every drop shows); colour: bias scale; marker and "
        "line style: seed",
    )


def analyze(data: StudyRuns) -> Analysis:
    settings = by_setting(data)
    results = results_of(settings)
    claims = [claim for setting, by_scale in results.items() for claim in setting_claims(setting, by_scale)]
    singles = [f for setting, by_scale in results.items() if (f := single_runs_figure(setting, by_scale))]
    sections = [stability_section(results)]
    if singles:
        sections.append(Section("Single runs at bias scales 1 and 100", singles))
    groups = {setting.replace(" ", " / "): cs for setting, cs in settings.items()}
    lead = [
        Section("Against the seed study", seed_study_text(results, {c.name: c for c in claims}, data.preset))
    ]
    return Analysis(claims, sections, groups, lead)
