"""The zero-module analysis: the stored runs -> facts -> claims, prose, tables, figures, sections."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from initlab.data import load_dataset
from initlab.report import Condition, FigureBlock, Section, Table, TableBlock, Text
from initlab.studies.base import Analysis, StudyRuns
from initlab.studies.zero_module.claims import all_claims, order_mismatches, separation_counts
from initlab.studies.zero_module.facts import Facts
from initlab.studies.zero_module.figures import curves_figure, order_heatmap, samples_figure, symmetry_figure
from initlab.studies.zero_module.grid import GRID, ORDER_STEPS
from initlab.studies.zero_module.text import (
    constant_answer,
    double_answer,
    order_answer,
    symmetry_answer,
    training_answer,
)
from initlab.tasks.frechet import classifier_config


def condition_name(config: dict[str, Any]) -> str:
    """A condition's name in the claims and figures, from its config."""
    if "samples" in config.get("probes", {}):
        return f"training/{config['init']}"
    if config["init"] != "zero-module":
        return "all zeros" if config["init"] == "zeros" else config["init"]
    inner = config.get("init_params", {}).get("inner", "default")
    if config["model_params"].get("branch_width") == 1:
        return "width-1"
    if inner == "zero":
        return "two zero modules"
    if inner == "constant-random-bias":
        return "constant+random biases"
    if inner == "constant":
        if config["model_params"].get("dropout", 0) > 0:
            return "constant+dropout"
        return f"constant/{config['optimizer']}"
    return "zero-module"


def facts_of(data: StudyRuns) -> dict[str, Facts]:
    """Every condition's facts, by :func:`condition_name`."""
    out = {}
    for condition in data.conditions():
        name = condition_name(condition.runs[0].record.config)
        out[name] = Facts.of(data.store, name, condition)
    return out


def order_table(
    mismatches: dict[str, tuple[int, int | None]], changes: dict[str, tuple[int, int | None]]
) -> Table:
    rows = [
        {"parameter": p, "predicted": a, "first gradient": "never" if b is None else b, "first change": "—"}
        for p, (a, b) in mismatches.items()
    ]
    rows += [
        {
            "parameter": p,
            "predicted": a,
            "first gradient": "as predicted",
            "first change": "never" if b is None else b,
        }
        for p, (a, b) in changes.items()
        if p not in mismatches
    ]
    return Table.from_rows(rows, ("parameter", "predicted", "first gradient", "first change"))


def summary_table(conditions: dict[str, Facts]) -> Table:
    rows = []
    for name, facts in conditions.items():
        loss, frechet = facts.values("loss"), facts.values("frechet")
        rows.append(
            {
                "condition": name,
                "runs": len(facts.runs),
                "steps": max((r.steps for r in facts.runs), default=0),
                "final eval loss (mean)": sum(loss) / len(loss) if loss else math.nan,
                "final Fréchet distance (mean)": sum(frechet) / len(frechet) if frechet else math.nan,
            }
        )
    return Table.from_rows(rows)


def sample_panels(data: StudyRuns, conditions: dict[str, Facts]) -> list[tuple[str, Any]]:
    panels = []
    training = [f for n, f in conditions.items() if n.startswith("training/")]
    if training:
        config = training[0].condition.runs[0].record.config
        real = load_dataset(config["dataset"], "test").x[:GRID]
        panels.append(("real test images", real.double()))
    for facts in training:
        run = next((r for r in facts.runs if r.samples is not None), None)
        if run is not None:
            panels.append((f"{facts.name.split('/')[1]} (seed {run.seed}, step {run.steps})", run.samples))
    return panels


def analyze(data: StudyRuns) -> Analysis:
    conditions = facts_of(data)
    claims = all_claims(conditions)
    by_name = {c.name: c for c in claims}
    zm = conditions.get("zero-module")
    mismatches = order_mismatches(zm) if zm else {}
    changes = order_mismatches(zm, "first_change") if zm else {}
    words = symmetry_answer(by_name) + order_answer(by_name, mismatches) + constant_answer(by_name)
    words += double_answer(by_name) + training_answer(by_name)
    sections: list[Section] = []
    mechanics = [
        conditions[n] for n in ("zero-module", "pytorch-default", "two zero modules") if n in conditions
    ]
    if mechanics:
        sections.append(
            Section(
                "Update order",
                [
                    Text(
                        "From the stored update-order rows of the lowest seed: a weight's row turns green "
                        "at the "
                        "first step its gradient has a non-zero element. The table lists the parameters "
                        "whose "
                        "first gradient or first change (latest over seeds) is off the prediction under "
                        "zero-module."
                    ),
                    FigureBlock.of(
                        "update_order", order_heatmap(mechanics, ORDER_STEPS), "update order heatmap"
                    ),
                    TableBlock(
                        "update_order_differences",
                        order_table(mismatches, changes),
                        "where the order differs",
                        collapsed=True,
                    ),
                ],
            )
        )
    zeroed = [conditions[n] for n in ("zero-module", "pytorch-default", "all zeros") if n in conditions]
    feeding = [
        conditions[n]
        for n in (
            "zero-module",
            "constant/adam",
            "constant/sgd",
            "constant+random biases",
            "constant+dropout",
            "width-1",
        )
        if n in conditions
    ]
    if zeroed or feeding:
        counts = separation_counts(zm) if zm else {}
        sections.append(
            Section(
                "Symmetry and rank of the zeroed layers",
                [
                    Text(
                        "From the stored symmetry rows (lowest seed). Left: the largest group of identical "
                        "channels as a fraction of the channels, averaged over the zeroed layers. Right: the "
                        "effective rank exp(entropy of the normalised singular values) of each ResBlock's "
                        "first "
                        "conv, whose channels reach the zeroed conv, averaged over the ResBlocks. "
                        + (
                            f"Under zero-module, {counts['one group at init']} of {counts['layers']} zeroed "
                            "layers "
                            f"(over runs) started as one group, {counts['permanent at init']} of them "
                            "permanent."
                            if counts
                            else ""
                        )
                        + " The symmetry probe's permanence test swaps two channels with all their slices; "
                        "GroupNorm with one channel per group (improved-diffusion's 32 groups on a narrow "
                        "layer) "
                        "gives each channel its own group index, so the test cannot certify a group across "
                        "GroupNorm groups even when, as under constant filters, the channels stay identical: "
                        "the claims count identical channels record by record instead."
                    ),
                    FigureBlock.of(
                        "symmetry", symmetry_figure(zeroed, feeding), "symmetry and effective rank"
                    ),
                ],
            )
        )
    training = [f for n, f in conditions.items() if n.startswith("training/")]
    if training:
        classifier = classifier_config(training[0].condition.runs[0].record.config["dataset"])
        sections.append(
            Section(
                "Training: loss, Fréchet distance and samples",
                [
                    Text(
                        "The evaluation loss is the ε-prediction error on the same noisy test images for "
                        "every run "
                        "(fixed steps and noise). The Fréchet distance compares DDIM samples (η = 0, the "
                        "same "
                        "starting noise for every run) with the test images in the features of initlab's own "
                        f"classifier: a {classifier.model} (depth {classifier.model_params['depth']}) "
                        "trained for "
                        f"{classifier.epochs} epochs on {classifier.dataset} with seed {classifier.seed}, "
                        "run key "
                        f"{classifier.key()}, kept in initlab's cache."
                    ),
                    FigureBlock.of("curves", curves_figure(training), "loss and Fréchet distance"),
                    TableBlock("summary", summary_table(conditions), "every condition's final values"),
                ],
            )
        )
        panels = sample_panels(data, conditions)
        if len(panels) > 1:
            sections[-1].blocks.append(FigureBlock.of("samples", samples_figure(panels), "sample grids"))
    lead = [Section("Answer to the question", [Text(p) for p in words])]
    groups: dict[str, list[Condition]] = {"mechanics": [], "training": []}
    for name, facts in conditions.items():
        part, _, short = name.rpartition("/") if name.startswith("training/") else ("mechanics", "", name)
        groups[part].append(replace(facts.condition, label=short))
    return Analysis(claims, sections, {k: v for k, v in groups.items() if v}, lead, fold_probes=True)
