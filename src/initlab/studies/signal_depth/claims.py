"""The signal-depth study's claims: the input signal at grid.CLAIM_DEPTH layers per init, and whether inits
whose signal survives fail to train at a larger depth than those whose signal vanishes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from initlab.report import Claim
from initlab.studies.signal_depth import grid
from initlab.studies.signal_depth.facts import Cell, depth_text, failure_depth
from initlab.studies.signal_depth.grid import FAIL_MARGIN, SURVIVES, VANISHES
from initlab.studies.verdicts import all_of


def threshold_verdict(values: Sequence[float], above: bool, threshold: float) -> str:
    """*holds* when every seed's value is on the claim's side of ``threshold``, *fails* when their mean
    is on the other side, else (or with no value) *inconclusive*."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "inconclusive"
    side = [(v > threshold) if above else (v < threshold) for v in values]
    if all(side):
        return "holds"
    mean = float(np.mean(values))
    return "fails" if (mean <= threshold if above else mean >= threshold) else "inconclusive"


def signal_claims(table: dict[tuple[str, str, int], Cell]) -> list[Claim]:
    relu = {i: c for (a, i, d), c in table.items() if a == "relu" and d == grid.CLAIM_DEPTH}
    if not relu:
        return []
    width = next(iter(relu.values())).runs[0].width
    where = f"{grid.CLAIM_DEPTH}-layer width-{width} ReLU MLP on an MNIST batch"
    claims = []
    if "he-normal" in relu:
        values = [r.input_signal for r in relu["he-normal"].runs]
        claims.append(
            Claim(
                "he-input-signal-survives",
                f"{where}: with He init the input signal of the last hidden layer over the first stays above "
                f"{SURVIVES:g}",
                threshold_verdict(values, True, SURVIVES),
                {"mean ratio": float(np.mean(values)), "smallest seed": min(values), "seeds": len(values)},
            )
        )
    vanishing = [i for i in ("pytorch-default", "lecun-normal", "xavier-normal") if i in relu]
    verdicts, numbers = [], {}
    for init in vanishing:
        values = [r.input_signal for r in relu[init].runs]
        verdicts.append(threshold_verdict(values, False, VANISHES))
        numbers[f"{init} mean"] = float(np.mean(values))
        numbers[f"{init} largest seed"] = max(values)
    if vanishing:
        claims.append(
            Claim(
                "input-signal-vanishes",
                f"{where}: with {', '.join(vanishing)} the input signal of the last hidden layer over the "
                f"first falls below {VANISHES:g}",
                all_of(verdicts),
                numbers,
            )
        )
    if "pytorch-default" in relu:
        values = [r.std for r in relu["pytorch-default"].runs]
        claims.append(
            Claim(
                "default-std-held-up-by-biases",
                f"{where}: with pytorch-default the plain activation std (last hidden layer over the first) "
                f"stays above {SURVIVES:g}, held up by the biases while the input signal is gone",
                threshold_verdict(values, True, SURVIVES),
                {
                    "mean std ratio": float(np.mean(values)),
                    "smallest seed": min(values),
                    "seeds": len(values),
                },
            )
        )
    return claims


def failure_claims(table: dict[tuple[str, str, int], Cell]) -> list[Claim]:
    """Per activation: inits whose input signal survives to grid.CLAIM_DEPTH fail deeper than those whose
    signal vanishes there."""
    claims = []
    deepest = max((d for _, _, d in table), default=0)
    for activation in grid.ACTIVATIONS:
        at_depth = {i: c for (a, i, d), c in table.items() if a == activation and d == grid.CLAIM_DEPTH}
        survive = [i for i, c in at_depth.items() if c.mean("input_signal") >= SURVIVES]
        vanish = [i for i, c in at_depth.items() if c.mean("input_signal") < VANISHES]
        depths = {i: failure_depth(table, activation, i) for i in (*survive, *vanish)}
        numbers: dict[str, Any] = {
            f"{i} ({'survives' if i in survive else 'vanishes'})": depth_text(depths[i], deepest)
            for i in (*survive, *vanish)
        }
        if not survive or not vanish:
            verdict = "inconclusive"
        else:
            earliest_survivor = min(depths[i] for i in survive)
            latest_vanisher = max(depths[i] for i in vanish)
            if math.isinf(earliest_survivor) and math.isinf(latest_vanisher):
                verdict = "inconclusive"  # nothing failed within the depths tried
            else:
                verdict = "holds" if earliest_survivor > latest_vanisher else "fails"
        claims.append(
            Claim(
                f"fails-deeper-when-signal-survives/{activation}",
                f"{activation}: inits whose input signal survives {grid.CLAIM_DEPTH} layers (ratio ≥ "
                f"{SURVIVES:g}) start failing to train at a larger depth than inits whose signal vanishes (< "
                f"{VANISHES:g})",
                verdict,
                numbers,
                f"failure depth: the smallest depth tried at which most seeds end within {FAIL_MARGIN:g} of "
                "the majority-class accuracy or diverge",
            )
        )
    return claims
