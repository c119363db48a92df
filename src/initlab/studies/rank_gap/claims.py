"""The rank-gap study's claims, each verdict computed from the runs' facts.

1. ``rank-far-below/<setting>/<layer>``: at the last epoch, the zero-initialized layer's effective rank
   is below half the default's (95% t interval of r/r_ref over seeds below 0.5).
2. ``gap-tracks-deficit``: over (setting, seed, epoch) points, the accuracy gap to the default rises with
   the rank deficit (Spearman ρ's interval above 0; :mod:`.relation`), pooled and per setting.
3. Per intervention: ``faster-rank/<setting>/<arm>`` (its rank deficit at the last epoch is below the
   zero arm's, Welch's interval of the difference above 0), ``narrower-gap/<setting>/<arm>`` (its gap
   to its default is below the zero arm's), and ``rank-explains/<setting>``: every decided intervention
   that lowers the deficit narrows the gap and every one that does not, does not.
4. ``order/<setting>`` and ``rank-one/<setting>``: with zero weights, layer L−k first changes at step k,
   and is rank 1 right after (the update-order study's facts, :mod:`initlab.studies.update_order`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from initlab.report import Claim, Verdict
from initlab.studies.rank_gap.facts import (
    RunFacts,
    final_epoch,
    finite,
    layer_ratio,
    points,
    rank_deficit,
    reference_of,
    settings_of,
    where,
)
from initlab.studies.rank_gap.relation import bootstrap_interval, fisher_interval
from initlab.studies.update_order.claims import count_verdict
from initlab.studies.update_order.grid import expected_steps
from initlab.studies.verdicts import above, below, difference_ci, mean_interval

#: "Far below": the zero-initialized layer's effective rank under this fraction of the default's.
FAR_BELOW = 0.5
#: Arms that are references, not interventions.
NOT_INTERVENTIONS = ("default", "zero", "sgd default")


def rank_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """Per setting and layer: r_zero/r_default at the last epoch against :data:`FAR_BELOW`."""
    claims = []
    for setting in settings_of(facts):
        zero = where(facts, setting=setting, arm="zero")
        if not zero:
            continue
        epoch = final_epoch(
            where(facts, setting=setting, arm="zero") + where(facts, setting=setting, arm="default")
        )
        for layer in zero[0].layers:
            pairs = [(f, ref) for f in zero if (ref := reference_of(facts, f)) is not None]
            ratios = finite([layer_ratio(f, ref, layer, epoch) for f, ref in pairs])
            mean, low, high = mean_interval(ratios)
            claims.append(
                Claim(
                    f"rank-far-below/{setting}/{layer}",
                    f"{setting}, {layer}: zero weights with N(0,1) biases stay below {FAR_BELOW:g}× the "
                    f"default's effective rank at epoch {epoch} (95% CI of the ratio over seeds)",
                    below(low, high, FAR_BELOW),
                    {
                        "ratio": mean,
                        "ci low": low,
                        "ci high": high,
                        "zero": float(np.mean(finite([f.rank_at_epoch(layer, epoch) for f, _ in pairs]))),
                        "default": float(np.mean(finite([r.rank_at_epoch(layer, epoch) for _, r in pairs]))),
                        "seeds": len(ratios),
                    },
                )
            )
    return claims


def relation_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """ρ(gap, deficit), pooled over settings (seed bootstrap) and per setting (Fisher z)."""
    every = points(facts)
    pooled = bootstrap_interval(every)
    claims = [
        Claim(
            "gap-tracks-deficit",
            "over every (setting, seed, epoch ≥ 1), the accuracy gap to the default rises with the mean rank "
            "deficit of the zero-initialized layers (Spearman ρ, 95% seed-bootstrap interval above 0)",
            above(pooled.low, pooled.high, 0.0),
            {"rho": pooled.rho, "ci low": pooled.low, "ci high": pooled.high, "points": pooled.n},
        )
    ]
    for setting in settings_of(facts):
        mine = [p for p in every if p.setting == setting]
        corr = fisher_interval(mine)
        claims.append(
            Claim(
                f"gap-tracks-deficit/{setting}",
                f"{setting}: over seeds and epochs, the gap rises with the rank deficit (Spearman ρ, 95% "
                "Fisher z interval above 0)",
                above(corr.low, corr.high, 0.0),
                {"rho": corr.rho, "ci low": corr.low, "ci high": corr.high, "points": corr.n},
                "the Fisher z interval treats a seed's epochs as independent points",
            )
        )
    return claims


def _final(facts: Sequence[RunFacts], f: RunFacts, epoch: int) -> tuple[float | None, float | None]:
    """(gap to its reference, rank deficit) of run ``f`` at ``epoch``."""
    ref = reference_of(facts, f)
    if ref is None or epoch not in f.accuracy or epoch not in ref.accuracy:
        return None, None
    return ref.accuracy[epoch] - f.accuracy[epoch], rank_deficit(f, ref, epoch)


def intervention_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """Per intervention: does it lower the rank deficit, does it narrow the gap; then their agreement."""
    claims = []
    for setting in settings_of(facts):
        mine = where(facts, setting=setting)
        arms = [a for a in dict.fromkeys(f.arm for f in mine) if a not in NOT_INTERVENTIONS]
        if not arms or not where(mine, arm="zero"):
            continue
        epoch = final_epoch(mine)
        base = [_final(facts, f, epoch) for f in where(mine, arm="zero")]
        base_gap, base_deficit = finite([g for g, _ in base]), finite([d for _, d in base])
        pairs: list[tuple[str, Verdict, Verdict]] = []
        for arm in arms:
            values = [_final(facts, f, epoch) for f in where(mine, arm=arm)]
            gaps, deficits = finite([g for g, _ in values]), finite([d for _, d in values])
            rank = difference_ci(base_deficit, deficits)
            gap = difference_ci(base_gap, gaps)
            rank_verdict, gap_verdict = above(rank.low, rank.high, 0.0), above(gap.low, gap.high, 0.0)
            pairs.append((arm, rank_verdict, gap_verdict))
            closed = 1 - float(np.mean(gaps)) / float(np.mean(base_gap)) if gaps and base_gap else math.nan
            claims += [
                Claim(
                    f"faster-rank/{setting}/{arm}",
                    f"{setting}, {arm}: a lower rank deficit than zero weights with N(0,1) biases at epoch "
                    f"{epoch} (Welch 95% CI of zero's − its above 0)",
                    rank_verdict,
                    {
                        "deficit": float(np.mean(deficits)) if deficits else math.nan,
                        "zero's deficit": float(np.mean(base_deficit)) if base_deficit else math.nan,
                        "ci low": rank.low,
                        "ci high": rank.high,
                    },
                ),
                Claim(
                    f"narrower-gap/{setting}/{arm}",
                    f"{setting}, {arm}: a smaller accuracy gap to its default than zero weights with N(0,1) "
                    f"biases at epoch {epoch} (Welch 95% CI of zero's − its above 0)",
                    gap_verdict,
                    {
                        "gap": float(np.mean(gaps)) if gaps else math.nan,
                        "zero's gap": float(np.mean(base_gap)) if base_gap else math.nan,
                        "gap closed": closed,
                        "ci low": gap.low,
                        "ci high": gap.high,
                    },
                ),
            ]
        claims.append(explains_claim(setting, pairs))
    return claims


def explains_claim(setting: str, pairs: Sequence[tuple[str, Verdict, Verdict]]) -> Claim:
    """*holds* when some intervention lowers the deficit and, for every decided one, the gap narrows
    exactly when the deficit falls; *fails* on any decided disagreement; else *inconclusive*."""
    decided = [(a, r, g) for a, r, g in pairs if "inconclusive" not in (r, g)]
    against = [a for a, r, g in decided if (r == "holds") != (g == "holds")]
    verdict: Verdict = "inconclusive"
    if against:
        verdict = "fails"
    elif any(r == "holds" for _, r, _ in decided):
        verdict = "holds"
    return Claim(
        f"rank-explains/{setting}",
        f"{setting}: the interventions that lower the rank deficit narrow the gap, and those that do not, "
        "do not",
        verdict,
        {
            "interventions": len(pairs),
            "decided": len(decided),
            "agree": ", ".join(a for a, _, _ in decided if a not in against) or "none",
            "disagree": ", ".join(against) or "none",
            "undecided": ", ".join(a for a, r, g in pairs if "inconclusive" in (r, g)) or "none",
        },
    )


def order_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    """Per setting, zero weights: the first change steps and the rank right after the first update."""
    claims = []
    for setting in settings_of(facts):
        zero = where(facts, setting=setting, arm="zero")
        if not zero:
            continue
        depth = len(zero[0].layers)
        expected = expected_steps(depth)
        wrong = [f for f in zero if f.first_change != expected]
        claims.append(
            Claim(
                f"order/{setting}",
                f"{setting}, zero weights with N(0,1) biases, Adam: layer L−k first changes at step k "
                f"(L = {depth}; input→head {' '.join(map(str, expected))})",
                count_verdict(len(zero), len(wrong)),
                {
                    "runs": len(zero),
                    "runs exact": len(zero) - len(wrong),
                    **({"first mismatch": _steps(wrong[0])} if wrong else {}),
                },
            )
        )
        after = [
            (f.rank.get(layer, {}).get(step + 1), f.effective_rank.get(layer, {}).get(step + 1))
            for f in zero
            for layer, step in zip(f.layers, f.first_change, strict=True)
            if step is not None
        ]
        checked = [r for r, _ in after if r is not None]
        claims.append(
            Claim(
                f"rank-one/{setting}",
                f"{setting}, zero weights with N(0,1) biases, Adam: every weight matrix is rank 1 right "
                "after its first update (numerical rank, conv weights flattened to out × in·k·k)",
                count_verdict(len(checked), sum(r != 1 for r in checked)),
                {
                    "layers checked": len(checked),
                    "rank 1": sum(r == 1 for r in checked),
                    "largest rank": max(checked, default=math.nan),
                    "largest effective rank": max(finite([e for _, e in after]), default=math.nan),
                },
                "Adam's first update −lr·g/(√v̂+ε) is an outer product only up to ε; a conv's gradient sums "
                "outer products over positions, whose zero-padded borders differ",
            )
        )
    return claims


def _steps(f: RunFacts) -> str:
    return f"seed {f.seed}: " + " ".join("never" if s is None else str(s) for s in f.first_change)
