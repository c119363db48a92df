"""``update-order``: with zero weights and random biases, layers wake up from the output to the input.

In a depth-L MLP whose weights are all 0 and whose biases are random (``zero-weight-random-bias``),
every hidden activation is a constant, f(b), whatever the input. At step 0 only the head's weight
gets a gradient: ∂L/∂W_L = Σ_i δ_i f(b_{L−1})ᵀ ≠ 0, while ∂L/∂W_l = (W_{l+1}ᵀ δ_{l+1} ⊙ f′) aᵀ = 0
below it, because W_{l+1} = 0. After k steps, W_{L−k+1} ≠ 0 for the first time, so layer L−k
(k = 0 is the head) first changes at step k (0-based), exactly. With ``pytorch-default`` every layer
changes at step 0. In floating point the order can only be later, never earlier: with SGD each
first update is the gradient times the learning rate, a product of the k updates above it, so its
size shrinks geometrically with k and, deep enough, underflows float32 to an exact 0; Adam's first
update is ≈ lr·sign(g) whatever the gradient's size.

Each first update is an outer product (δ̄ aᵀ with an input-independent a, or, for the first layer, a
direction fixed by the rank-1 layer above), so each weight matrix is exactly rank 1 right after its
first update (Adam's g/(√v̂+ε) is an outer product only up to ε); the rank then grows slowly — the
training degeneracy of the ZerO paper (Zhao et al. 2021, arXiv 2110.12661). With ReLU, zero weights
and N(0, 1) biases, a unit whose bias is negative outputs 0 for every input, gets no gradient and
stays dead: about half the units of every hidden layer.

Measured on sklearn digits: MLPs of depth 2–8, width 32, batch 128, SGD (lr 0.1) and Adam (lr 1e-3),
tanh and ReLU, ``zero-weight-random-bias`` (N(0, 1) biases) against ``pytorch-default``, with the
``update-order``, ``symmetry``, ``grad-dist`` and ``signal`` probes on every run. The quick preset
trains 8 epochs (72 steps) with 2 seeds; the full preset 20 epochs with 5 seeds.

The package: :mod:`.grid` (the sweeps), :mod:`.facts` (what each run's probe rows say), :mod:`.claims`
(verdicts), :mod:`.tables` and :mod:`.figures`, and :mod:`.text` (the sentences chosen from the claims).
"""

from __future__ import annotations

from initlab.report import FigureBlock, Section, Table, TableBlock, Text
from initlab.studies.base import Analysis, Study, StudyRuns, register_study
from initlab.studies.update_order import figures, tables, text
from initlab.studies.update_order.claims import dead_unit_claims, order_claims, rank_claims
from initlab.studies.update_order.facts import RunFacts, dead_rows, run_facts
from initlab.studies.update_order.grid import RANK_STEPS, REFERENCE_DEPTH, WIDTH, sweeps


def analyze(data: StudyRuns) -> Analysis:
    facts = [run_facts(data.store, run) for run in data.runs if run.status == "finished"]
    if not facts:
        return Analysis([], [Section("No finished runs", [Text("No run of the study has finished yet.")])])
    dead = dead_rows(facts)
    claims = [*order_claims(facts), *rank_claims(facts), *dead_unit_claims(dead)]
    by_name = {c.name: c for c in claims}
    return Analysis(claims, groups={}, lead=sections(facts, by_name, Table.from_rows(dead)), fold_probes=True)


def sections(facts: list[RunFacts], claims: text.Claims, dead: Table) -> list[Section]:
    depths = sorted({f.depth for f in facts})
    return [
        Section(
            "First change step against depth",
            [
                Text(
                    "Zero weights with N(0,1) biases against PyTorch's default, MLPs of depth "
                    f"{min(depths)}–{max(depths)} (width {WIDTH}) on digits. Expected with zero weights: "
                    "layer L−k first changes at step k, the diagonal. " + text.order_text(claims)
                ),
                FigureBlock.of(
                    "first_change_vs_depth",
                    figures.order_figure(facts),
                    "First step each weight layer changes against its distance k from the head, one line "
                    "per depth (lowest-seed run); ✕ at the top: never changed in the run; grey squares: "
                    "pytorch-default.",
                ),
                TableBlock(
                    "first_change_steps",
                    tables.order_table(facts),
                    "first change step of each weight layer, input to head, in the lowest-seed run, and how "
                    "many seeds follow the expected order exactly",
                    collapsed=True,
                ),
            ],
        ),
        Section(
            "Accuracy against depth",
            [
                FigureBlock.of(
                    "final_accuracy_vs_depth",
                    figures.accuracy_figure(facts),
                    "Final test accuracy per depth: every seed a dot, their mean a line (with two or three "
                    "seeds the seeds themselves, no interval).",
                ),
                TableBlock(
                    "final_test_accuracy",
                    tables.accuracy_table(facts),
                    "final test accuracy per condition over its seeds",
                    collapsed=True,
                ),
                FigureBlock.of(
                    "accuracy_per_epoch",
                    figures.curves_figure(facts),
                    "Test accuracy per epoch, mean over seeds, one colour per depth; zero weights solid, "
                    "pytorch-default dashed.",
                ),
            ],
        ),
        Section(
            text.underflow_title(claims),
            [
                Text(text.underflow_text(claims)),
                FigureBlock.of(
                    "first_gradient_size",
                    figures.underflow_figure(facts),
                    "Largest |gradient element| of each weight at its first step with a non-zero gradient "
                    "(grad-dist probe, first 12 steps), deepest MLPs, every seed (the lowest one opaque); "
                    "✕: no non-zero gradient in those steps.",
                ),
            ],
        ),
        Section(
            "Dead ReLU units",
            [
                Text(text.dead_text(claims)),
                FigureBlock.of(
                    "relu_dead_units",
                    figures.dead_figure(dead),
                    "Fraction of dead units (zero for every sample of the batch) per hidden layer at init "
                    "and at the last recorded step, against the fraction of that layer's biases ≤ 0 at init "
                    "(re-derived from each run's config and seed).",
                ),
                TableBlock(
                    "relu_dead_units",
                    dead,
                    "dead units per hidden layer, zero weights with N(0,1) biases, ReLU",
                    collapsed=True,
                ),
            ],
        ),
        Section(
            "Rank growth of zero-initialized layers",
            [
                Text(text.rank_text(claims)),
                FigureBlock.of(
                    "rank_growth",
                    figures.rank_figure(facts),
                    f"numerical rank per layer over the steps, {REFERENCE_DEPTH}-layer width-{WIDTH} MLP, "
                    "zero weights with N(0,1) biases, lowest seed",
                ),
                TableBlock(
                    "rank_after_first_update",
                    tables.first_update_table(facts),
                    "numerical and effective rank of each zero-initialized weight matrix right after its "
                    "first update, all depths and seeds (Adam's first update −lr·g/(√v̂+ε) is an outer "
                    "product only up to ε)",
                ),
                TableBlock(
                    "rank_growth",
                    tables.rank_rows(facts),
                    f"numerical rank per layer at steps 0–{RANK_STEPS} (· not recorded)",
                    collapsed=True,
                ),
            ],
        ),
    ]


STUDY = register_study(
    Study(
        name="update-order",
        title="Update order: layers wake up from the output to the input",
        question="With zero weights and random biases, does layer L−k first change at step k, while the "
        "default moves every layer at step 0?",
        sweeps=sweeps,
        analyze=analyze,
    )
)
