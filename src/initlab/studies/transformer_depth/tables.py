"""The transformer-depth study's tables: every arm's final bpc per depth, and the instruments at init."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from initlab.report import Table
from initlab.studies.transformer_depth.claims import TARGET_BPC
from initlab.studies.transformer_depth.facts import RunFacts, training, where
from initlab.studies.transformer_depth.figures import arm
from initlab.studies.transformer_depth.init_claims import log_mismatch
from initlab.studies.transformer_depth.outcome import mean_bpc


def final_table(facts: Sequence[RunFacts]) -> Table:
    """Per trained arm and depth: seeds, diverged seeds, mean final val bpc, mean steps to the target."""
    runs = training(facts)
    rows = []
    for label in dict.fromkeys(arm(f) for f in runs):
        for depth in sorted({f.depth for f in runs if arm(f) == label}):
            mine = [f for f in runs if arm(f) == label and f.depth == depth]
            reached = [s for f in mine if (s := f.steps_to(TARGET_BPC)) is not None]
            rows.append(
                {
                    "arm": label,
                    "depth": depth,
                    "seeds": len(mine),
                    "diverged": sum(f.diverged for f in mine),
                    "final val bpc": mean_bpc(mine),
                    f"steps to {TARGET_BPC:g} bpc": float(np.mean(reached)) if reached else math.nan,
                    "reached": f"{len(reached)}/{len(mine)}",
                }
            )
    return Table.from_rows(rows)


def init_table(facts: Sequence[RunFacts]) -> Table:
    """Per amplified variant and depth: the relative output change for a random perturbation and for the
    first Adam update, the gradient ratio ‖g_1‖/‖g_L‖ and the last layer's gradient norm ‖g_L‖ at init
    (Xiong et al. 2020, Thm. 1: O(1) in depth for post-LN, O(1/√L) for pre-LN); geometric means over
    seeds."""
    amplified = where(facts, part="amplification")
    rows = []
    for variant in dict.fromkeys(f.variant for f in amplified):
        for depth in sorted({f.depth for f in where(amplified, variant=variant)}):
            mine = where(amplified, variant=variant, depth=depth)
            changes = [f.output_change for f in mine if f.output_change]
            updates = [f.update_change for f in mine if f.update_change]
            logs = [x for f in mine if (x := log_mismatch(f)) is not None]
            last = [f.layer_grad[max(f.layer_grad)] for f in mine if f.layer_grad]
            rows.append(
                {
                    "variant": variant,
                    "depth": depth,
                    "seeds": len(mine),
                    "output change": float(np.exp(np.mean(np.log(changes)))) if changes else math.nan,
                    "first-update change": float(np.exp(np.mean(np.log(updates)))) if updates else math.nan,
                    "‖g_1‖/‖g_L‖": math.exp(float(np.mean(logs))) if logs else math.nan,
                    "‖g_L‖": float(np.exp(np.mean(np.log(last)))) if last else math.nan,
                }
            )
    return Table.from_rows(rows)
