"""The residual-zero analysis: the stored runs -> facts -> claims, prose, tables and report sections."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from initlab.report import Condition, Link, Section, TableBlock, Text
from initlab.studies.base import Analysis, StudyRuns
from initlab.studies.residual_zero.claims import setting_claims
from initlab.studies.residual_zero.facts import Facts, SettingFacts, setting_label
from initlab.studies.residual_zero.tables import (
    first_gradient_table,
    groups_table,
    history_table,
    order_table,
    symmetry_table,
)
from initlab.studies.residual_zero.text import constant_answer, history_text, resnet_answer, short_answer
from initlab.studies.zero_symmetry import majority_fraction

METRIC = "test_accuracy"


def settings_of(data: StudyRuns) -> list[SettingFacts]:
    """The facts of every (dataset, model) setting among the study's runs, in order of first run."""
    pairs = dict.fromkeys((r.record.dataset, r.record.model) for r in data.runs)
    out = []
    for dataset, model in pairs:
        setting = setting_label(dataset, model)
        conditions = data.conditions(dataset=dataset, model=model)
        facts = (Facts.of(data.store, setting, c) for c in conditions)
        out.append(SettingFacts(dataset, model, majority_fraction(dataset), {f.name: f for f in facts}))
    return out


def with_twins_noted(conditions: Sequence[Condition], metric: str = METRIC) -> list[Condition]:
    """The conditions, each labelled ``… (identical to <what sets the other apart>)`` when every seed's
    ``metric`` curve equals that of an earlier condition's same seed: drawn in the same place, its line
    would hide the other's (rezero and skipinit without normalization are the same init)."""

    def curves(c: Condition) -> dict[int, dict[int, float]]:
        return {r.record.seed: r.series(metric) for r in c.runs}

    def differing(twin: Condition, c: Condition) -> str:
        """The parts of ``twin``'s label that ``c``'s lacks: ``init=rezero``."""
        mine = c.label.split(", ")
        return ", ".join(p for p in twin.label.split(", ") if p not in mine) or twin.label

    out: list[Condition] = []
    for c in conditions:
        mine = curves(c)
        twin = next((o for o in conditions[: len(out)] if mine and curves(o) == mine), None)
        out.append(c if twin is None else replace(c, label=f"{c.label} (identical to {differing(twin, c)})"))
    return out


def symmetry_sections(facts: Sequence[Facts]) -> list[Section]:
    """The symmetry at init and at the end, and what happened to the groups over the steps."""
    histories = [t for f in facts if (t := history_text(f)) is not None]
    return [
        Section(
            "Symmetry at init and at the end",
            [
                Text(
                    "Per condition, over its hidden layers (every weight layer but the classifier), from "
                    "the stored symmetry rows: the layers with a group of identical units at init, the "
                    "layers whose group is permanent (identical incoming, per-unit and outgoing slices: "
                    "gradient descent can never separate them), the largest such groups, and at the last "
                    "recorded step the layers that are still one permanent group and whose weight has "
                    "rank 1. Maximum over seeds."
                ),
                TableBlock("symmetry", symmetry_table(facts), "symmetry of the hidden layers per condition"),
            ],
        ),
        Section(
            "Groups of identical units over the steps",
            [
                Text(
                    "A permanent verdict says gradient descent can never separate a group; a group that is "
                    "not permanent can separate, but need not. What the records show, per condition, "
                    "counting each hidden layer once per seed:"
                ),
                *(Text(t) for t in histories),
                TableBlock(
                    "groups_over_steps",
                    history_table(facts),
                    "groups of identical units at init and what became of them (layers counted per seed)",
                ),
                TableBlock(
                    "groups_per_layer",
                    groups_table(facts),
                    "every hidden layer (per seed) with identical units at init or at the last record",
                    collapsed=True,
                ),
            ],
        ),
    ]


def analyze(data: StudyRuns) -> Analysis:
    settings = settings_of(data)
    claims = [c for s in settings for c in setting_claims(s)]
    verdicts = {c.name: c.verdict for c in claims}
    resnets = [s for s in settings if s.model == "resnet-cifar"]
    words = short_answer(resnets, verdicts) + [p for s in resnets for p in resnet_answer(s, verdicts)]
    words += [t for s in settings if (t := constant_answer(s, verdicts)) is not None]
    every = [f for s in settings for f in s.conditions.values()]
    first_gradients = [
        TableBlock(
            "first_gradient_step_" + re.sub(r"[^A-Za-z0-9.-]+", "_", s.label),
            first_gradient_table(data.store, list(s.conditions.values())),
            f"{s.label}: first non-zero-gradient step of every weight (latest over seeds; ∞: never) per init",
            collapsed=True,
        )
        for s in settings
    ]
    order = Section(
        "Update order",
        [
            Text(
                "From the stored update-order rows: the latest step (over the conv and linear weights) "
                "at which a weight first gets a non-zero gradient and first changes, latest over "
                "seeds; ∞: some weight never did."
            ),
            TableBlock("update_order", order_table(every), "update order per condition"),
            *first_gradients,
        ],
    )
    groups = {s.label: with_twins_noted([f.condition for f in s.conditions.values()]) for s in settings}
    diffusion = Link(
        "The same question where it was asked, on improved-diffusion's U-Net (GroupNorm, SiLU, a timestep "
        "embedding, attention, a denoising loss): the zero-module study's report "
        f"(initlab study run zero-module --preset {data.preset})",
        f"../zero-module-{data.preset}/report.html",
    )
    lead = [Section("Answer to the question", [*(Text(p) for p in words), diffusion])]
    return Analysis(claims, [*symmetry_sections(every), order], groups, lead)
