"""``transformer-depth``: which transformers train at depth without warm-up, and why.

Causal decoder LMs on ``shakespeare-char`` with Adam, shallow to deep, with and without learning-rate
warm-up (issue 12). The study checks, from the stored runs:

1. post-LN without warm-up fails from some depth on while pre-LN trains at every depth (Xiong et al.
   2020, arXiv 2002.04745), and 2. whether warm-up rescues it there;
3. DeepNorm (arXiv 2203.00555), Admin (arXiv 2004.08249), T-Fixup (Huang et al. 2020), ReZero
   (arXiv 2003.04887) and DS-Init (arXiv 1908.11365) train without warm-up at the deepest depth;
4. the output change at init grows about linearly with depth for post-LN and much more slowly for pre-LN
   and DeepNorm (Admin's amplification);
5. pre-LN's gradient-norm mismatch between its first and last layer at init, and NormFormer's
   (arXiv 2110.09456);
6. ReZero's steps to a target bpc against pre-LN and post-LN;
7. ``nn.TransformerEncoder``'s layers start as exact copies (PyTorch issue 72253), separate, and cost;
8. GPT-2's 1/√(2L) residual scaling against plain N(0, 0.02²).

The package: :mod:`.grid`, :mod:`.facts`, :mod:`.outcome`, :mod:`.growth`, :mod:`.claims`,
:mod:`.init_claims`, :mod:`.tables`, :mod:`.figures` and :mod:`.text`.
"""

from __future__ import annotations

from initlab.report import Claim, Condition, FigureBlock, Section, TableBlock, Text, group_conditions
from initlab.studies.base import Analysis, Study, StudyRuns, register_study
from initlab.studies.transformer_depth import figures, tables, text
from initlab.studies.transformer_depth.claims import TARGET_BPC, training_claims
from initlab.studies.transformer_depth.facts import RunFacts, study_facts, training
from initlab.studies.transformer_depth.grid import SCHEMES, sweeps
from initlab.studies.transformer_depth.init_claims import SEPARATED, init_claims
from initlab.studies.transformer_depth.outcome import TRAINED_BPC, WORSE_BY


def analyze(data: StudyRuns) -> Analysis:
    facts = study_facts(data)
    if not facts:
        return Analysis([], [Section("No finished runs", [Text("No run of the study has finished yet.")])])
    claims = [*training_claims(facts), *init_claims(facts)]
    return Analysis(
        claims,
        groups=curve_groups(facts),
        lead=sections(facts, {c.name: c for c in claims}),
        fold_probes=True,
    )


def curve_groups(facts: list[RunFacts]) -> dict[str, list[Condition]]:
    """The trained runs' curves in three groups (post-LN and pre-LN by depth, the schemes, the copies),
    so that each figure's labels name only what differs inside it."""
    parts = {
        "post-LN and pre-LN": ("post-ln", "pre-ln"),
        "schemes at the deepest depth": (*SCHEMES, "normformer", "gpt2", "normal-0.02"),
        "nn.TransformerEncoder": ("torch-clones", "torch-reset"),
    }
    groups = {
        name: group_conditions([f.run for f in training(facts) if f.variant in variants])
        for name, variants in parts.items()
    }
    return {name: members for name, members in groups.items() if members}


def sections(facts: list[RunFacts], claims: dict[str, Claim]) -> list[Section]:
    return [
        Section("The answer", [Text(sentence) for sentence in text.answer_text(claims)]),
        Section(
            "Training at depth",
            [
                Text(
                    f"A run trains when its loss stays finite and its final validation bpc is at most "
                    f"{TRAINED_BPC:.2f} (half a bit under the unigram entropy, 4.80) and at most "
                    f"{WORSE_BY:g} bits above pre-LN's at the same depth. Steps to target: the first "
                    f"evaluation at or under {TARGET_BPC:g} bpc."
                ),
                FigureBlock.of(
                    "bpc_curves",
                    figures.bpc_curves_figure(facts),
                    "Validation bpc over the steps, mean over seeds; dashed: with warm-up; dotted line: the "
                    "trained bound.",
                ),
                FigureBlock.of(
                    "failure_depth",
                    figures.failure_figure(facts),
                    "Final validation bpc against depth, mean over seeds (×: a diverged seed).",
                ),
                TableBlock("final_bpc", tables.final_table(facts), "every trained arm at every depth"),
            ],
        ),
        Section(
            "At init: amplification and gradient profile",
            [
                FigureBlock.of(
                    "output_change",
                    figures.amplification_figure(facts),
                    "E‖F(x, W + δ) − F(x, W)‖² / E‖F(x, W)‖² at init for a random δ of relative size 10⁻³ "
                    "per tensor, one dot per seed, with the log-log fit.",
                ),
                FigureBlock.of(
                    "grad_profile",
                    figures.grad_profile_figure(facts),
                    "Gradient norm of each layer (both residual blocks) at step 0, mean over seeds.",
                ),
                TableBlock("init", tables.init_table(facts), "output change and gradient ratio at init"),
            ],
        ),
        Section(
            "nn.TransformerEncoder's copies",
            [
                FigureBlock.of(
                    "clones",
                    figures.clones_figure(facts),
                    "Largest (max − min)/mean of a block's parameter norm across the layers, over training: "
                    f"0 for exact copies; a lower bound on how far the layers are apart (separated: above "
                    f"{SEPARATED:g}).",
                ),
            ],
        ),
    ]


STUDY = register_study(
    Study(
        name="transformer-depth",
        title="Transformers at depth: which train without warm-up, and why?",
        question="At which depth does post-LN stop training without warm-up, and which architectures and "
        "inits train there?",
        sweeps=sweeps,
        analyze=analyze,
        metric="val_bpc",
    )
)
