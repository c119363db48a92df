"""``rank-gap``: do zero-initialized layers stay low-rank, and is that what costs accuracy?

The seed study (c-schicho/ZeroInitializationSymmetry) found that zero weights with random biases train,
with a gap to PyTorch's default it did not explain (MNIST FNN .971 against .976, CIFAR CNN .70
against .795). With zero weights every first update is an outer product, so each weight matrix is rank
1 right after it (the update-order study), and the rank grows slowly afterwards: the training
degeneracy the ZerO paper describes (Zhao et al. 2021, arXiv 2110.12661). This study asks whether that
low rank is what costs the accuracy:

1. how far below the default's the effective rank of every zero-initialized layer stays, over training;
2. whether the gap to the default tracks the rank deficit across settings and epochs (Spearman ρ with
   a seed-bootstrap interval);
3. whether interventions that make the rank grow faster close the gap: ε·He weights with the same
   N(0, 1) biases, a 10× learning rate for the first 10 steps (RunConfig ``boost``), SGD instead of
   Adam, and the bias scale;
4. whether the update-order facts (layer L−k first changes at step k, rank 1 right after) hold on the
   CNNs too.

Settings: MNIST FNN, MNIST CNN, Fashion-MNIST FNN and the seed study's CIFAR CNN on Fashion-MNIST (one
input channel; on CIFAR-10 itself in the full preset when the data is present); the interventions run on
the CNNs. The package: :mod:`.grid`, :mod:`.facts`, :mod:`.relation`, :mod:`.claims`, :mod:`.tables`,
:mod:`.figures` and :mod:`.text`.
"""

from __future__ import annotations

from initlab.report import Claim, FigureBlock, Section, Table, TableBlock, Text, group_conditions
from initlab.studies.base import Analysis, Study, StudyRuns, register_study
from initlab.studies.rank_gap import figures, tables, text
from initlab.studies.rank_gap.claims import intervention_claims, order_claims, rank_claims, relation_claims
from initlab.studies.rank_gap.facts import RunFacts, points, settings_of, study_facts
from initlab.studies.rank_gap.grid import sweeps


def analyze(data: StudyRuns) -> Analysis:
    facts = study_facts(data)
    if not facts:
        return Analysis([], [Section("No finished runs", [Text("No run of the study has finished yet.")])])
    claims = [*rank_claims(facts), *relation_claims(facts), *intervention_claims(facts), *order_claims(facts)]
    groups = {s: group_conditions([f.run for f in facts if f.setting == s]) for s in settings_of(facts)}
    return Analysis(
        claims, groups=groups, lead=sections(facts, {c.name: c for c in claims}), fold_probes=True
    )


def sections(facts: list[RunFacts], claims: dict[str, Claim]) -> list[Section]:
    every = points(facts)
    rows = tables.intervention_rows(facts, claims)
    settings = list(dict.fromkeys(str(r["setting"]) for r in rows))
    return [
        Section(
            "The answer",
            [
                Text(text.answer_text(claims)),
                Text(text.rank_text(claims)),
                Text(text.relation_text(claims)),
                *[Text(text.intervention_text(claims, s)) for s in settings],
                Text(text.order_text(claims)),
            ],
        ),
        Section(
            "Effective rank over training",
            [
                FigureBlock.of(
                    "effective_rank_curves",
                    figures.rank_curves_figure(facts),
                    "Effective rank exp(−Σ p log p), p = σ/Σσ, of every weight matrix over the steps: "
                    "pytorch-default dashed, zero weights with N(0,1) biases solid; mean over seeds, band: "
                    "95% t interval from 4 seeds, the seeds' range below that.",
                ),
                TableBlock(
                    "effective_rank_by_epoch",
                    tables.rank_table(facts),
                    "mean effective rank per layer at the end of each epoch (epoch 0: at init)",
                    collapsed=True,
                ),
            ],
        ),
        Section(
            "Gap against rank deficit",
            [
                FigureBlock.of(
                    "gap_vs_rank_deficit",
                    figures.gap_vs_deficit_figure(every),
                    "Test-accuracy gap (default − zero, same seed) against the rank deficit (mean over "
                    "layers of 1 − r_zero/r_default) at the end of each epoch ≥ 1; the number is the epoch.",
                ),
                TableBlock(
                    "rank_correlation", tables.relation_table(claims), "Spearman ρ of gap and deficit"
                ),
                TableBlock("gap_and_deficit", tables.points_table(every), "every point", collapsed=True),
            ],
        ),
        Section(
            "Interventions",
            [
                Text(
                    "Each intervention against zero weights with N(0,1) biases (Adam 1e-3): ε·He-normal "
                    "weights with the same biases; a 10× learning rate for the first 10 steps; SGD (lr 0.1, "
                    "against SGD's own default); N(0, s²) biases. Gap: to the default trained the same way."
                ),
                FigureBlock.of(
                    "interventions",
                    figures.intervention_figure(rows),
                    "Each arm's rank deficit and gap to its default at the last epoch, mean over seeds.",
                ),
                TableBlock("interventions", Table.from_rows(rows), "the interventions at the last epoch"),
            ],
        ),
    ]


STUDY = register_study(
    Study(
        name="rank-gap",
        title="Rank gap: do zero-initialized layers stay low-rank, and is that what costs accuracy?",
        question="Is the gap between zero weights with random biases and the default explained by the low "
        "rank of the zero-initialized layers?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
