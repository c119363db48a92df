"""The transformer-depth study's claims about the model at init and its layers' copies.

4. ``amplification/post-ln``: the output change at init grows about linearly with depth for post-LN
   (Liu et al. 2020, arXiv 2004.08249, Thm. 2: O(N)): the log-log slope's 95% interval lies inside
   [:data:`LINEAR_LOW`, :data:`LINEAR_HIGH`]; ``amplification/<v>`` for pre-LN and DeepNorm: it grows
   much more slowly, post-LN's slope minus theirs above :data:`MUCH_SLOWER` (:mod:`.growth`);
   ``first-update/<v>``: at the deepest depth, the first Adam update moves the output of pre-LN and
   DeepNorm less than post-LN's (Welch interval of the log difference above 0; DeepNorm's bounded
   model update, Wang et al. 2022, arXiv 2203.00555, §4).
5. ``grad-mismatch/pre-ln``: at init, pre-LN's first layer gets a larger gradient norm than its last
   (NormFormer, Shleifer et al. 2021, arXiv 2110.09456, Fig. 2): the geometric mean of
   ‖g_1‖/‖g_L‖ over seeds with the t interval of its log above 1 (intervals from 4 seeds);
   ``grad-mismatch/normformer``: NormFormer has a smaller log ratio than pre-LN (Welch interval of
   the difference above 0).
7. PyTorch issue 72253: ``clones-identical-at-init`` (every ``torch-clones`` run's layers have equal
   norms block by block at step 0, every re-initialised run's do not), ``clones-separate`` (by the end
   the copies differ by more than :data:`SEPARATED`), ``clones-cost`` (the copies end higher in bpc than
   re-initialised layers: Welch interval of the difference above 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from initlab.report import Claim, Verdict
from initlab.report.stats import MIN_INTERVAL_N
from initlab.studies.transformer_depth.facts import RunFacts, depths_of, layer_spread, training, where
from initlab.studies.transformer_depth.growth import Slope, loglog_slope, slope_difference
from initlab.studies.verdicts import Difference, above, difference_ci, mean_interval

#: "About linearly": a log-log slope inside this range.
LINEAR_LOW, LINEAR_HIGH = 0.5, 1.5
#: "Much more slowly": post-LN's slope exceeds the other's by more than this.
MUCH_SLOWER = 0.5
#: Layers "separated": the relative spread of their norms (:func:`.facts.layer_spread`) above this.
SEPARATED = 1e-3


def amplification(facts: Sequence[RunFacts], variant: str) -> Slope:
    runs = [f for f in where(facts, part="amplification", variant=variant) if f.output_change is not None]
    return loglog_slope([f.depth for f in runs], [f.output_change for f in runs])  # type: ignore[misc]


def amplification_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    post = amplification(facts, "post-ln")
    if post.n == 0:
        return []
    linear: Verdict = "inconclusive"
    if math.isfinite(post.low):
        inside = post.low >= LINEAR_LOW and post.high <= LINEAR_HIGH
        outside = post.high < LINEAR_LOW or post.low > LINEAR_HIGH
        linear = "holds" if inside else "fails" if outside else "inconclusive"
    claims = [
        Claim(
            "amplification/post-ln",
            "post-LN's output change at init grows about linearly with depth (log-log slope, 95% t interval "
            f"inside [{LINEAR_LOW:g}, {LINEAR_HIGH:g}])",
            linear,
            {"slope": post.slope, "ci low": post.low, "ci high": post.high, "points": post.n},
        )
    ]
    for variant in ("pre-ln", "deepnorm"):
        other = amplification(facts, variant)
        if other.n == 0:
            continue
        diff, low, high = slope_difference(post, other)
        claims.append(
            Claim(
                f"amplification/{variant}",
                f"{variant}'s output change at init grows much more slowly with depth than post-LN's (slope "
                f"difference, 95% interval above {MUCH_SLOWER:g})",
                above(low, high, MUCH_SLOWER),
                {
                    "slope": other.slope,
                    "post-LN slope": post.slope,
                    "difference": diff,
                    "ci low": low,
                    "ci high": high,
                    "points": other.n,
                },
            )
        )
    return claims


def first_update_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    amplified = where(facts, part="amplification")
    if not amplified:
        return []
    deepest = max(depths_of(amplified))

    def logs(variant: str) -> list[float]:
        runs = where(amplified, variant=variant, depth=deepest)
        return [math.log(f.update_change) for f in runs if f.update_change]

    post = logs("post-ln")
    claims = []
    for variant in ("pre-ln", "deepnorm"):
        mine = logs(variant)
        if not post or not mine:
            continue
        diff = difference_ci(post, mine)
        if min(len(post), len(mine)) < MIN_INTERVAL_N:
            diff = Difference(diff.estimate, math.nan, math.nan, diff.level)
        claims.append(
            Claim(
                f"first-update/{variant}",
                f"at depth {deepest}, the first Adam update changes {variant}'s output less than post-LN's "
                "(relative E‖ΔF‖², Welch 95% CI of the log difference above 0)",
                above(diff.low, diff.high, 0.0),
                {
                    "change": math.exp(float(np.mean(mine))),
                    "post-LN change": math.exp(float(np.mean(post))),
                    "post-LN / it": math.exp(diff.estimate),
                    "ci low": math.exp(diff.low),
                    "ci high": math.exp(diff.high),
                },
            )
        )
    return claims


def log_mismatch(run: RunFacts) -> float | None:
    """log(‖g_1‖/‖g_L‖) at step 0 (None: unrecorded)."""
    grads = run.layer_grad
    if len(grads) < 2 or grads[max(grads)] <= 0 or grads[min(grads)] <= 0:
        return None
    return math.log(grads[min(grads)] / grads[max(grads)])


def mismatch_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    amplified = where(facts, part="amplification")
    if not amplified:
        return []
    deepest = max(depths_of(amplified))
    logs = {
        v: [x for f in where(amplified, variant=v, depth=deepest) if (x := log_mismatch(f)) is not None]
        for v in ("pre-ln", "normformer")
    }
    claims = []
    if logs["pre-ln"]:
        mean, low, high = mean_interval(logs["pre-ln"])
        if len(logs["pre-ln"]) < MIN_INTERVAL_N:
            low = high = math.nan
        claims.append(
            Claim(
                "grad-mismatch/pre-ln",
                f"at init, pre-LN's first layer gets a larger gradient norm than its last (depth {deepest}: "
                "‖g_1‖/‖g_L‖, 95% t interval of its log over seeds above 1)",
                above(low, high, 0.0),
                {
                    "ratio": math.exp(mean),
                    "ci low": math.exp(low),
                    "ci high": math.exp(high),
                    "seeds": len(logs["pre-ln"]),
                },
            )
        )
    if logs["pre-ln"] and logs["normformer"]:
        diff = difference_ci(logs["pre-ln"], logs["normformer"])
        if min(len(logs["pre-ln"]), len(logs["normformer"])) < MIN_INTERVAL_N:
            diff = Difference(diff.estimate, math.nan, math.nan, diff.level)
        claims.append(
            Claim(
                "grad-mismatch/normformer",
                f"NormFormer reduces pre-LN's gradient mismatch at init (depth {deepest}: Welch 95% CI of "
                "log ratio pre-LN − NormFormer above 0)",
                above(diff.low, diff.high, 0.0),
                {
                    "ratio": math.exp(float(np.mean(logs["normformer"]))),
                    "pre-LN ratio": math.exp(float(np.mean(logs["pre-ln"]))),
                    "ci low": diff.low,
                    "ci high": diff.high,
                },
            )
        )
    return claims


def spreads(run: RunFacts) -> dict[int, float]:
    """Step → the layers' relative norm spread (:func:`.facts.layer_spread`)."""
    return {step: layer_spread(norms) for step, norms in sorted(run.weight_norms.items())}


def separation_step(run: RunFacts) -> int | None:
    """The first recorded step at which the layers are no longer exact copies, their spread above 0
    (None: never)."""
    return next((s for s, v in spreads(run).items() if v > 0), None)


def clone_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    clones, reset = training(facts, variant="torch-clones"), training(facts, variant="torch-reset")
    if not clones:
        return []
    at_init = [spreads(f).get(0, math.nan) for f in clones]
    reset_init = [spreads(f).get(0, math.nan) for f in reset]
    identical = all(v == 0 for v in at_init) and all(v > 0 for v in reset_init)
    final = [v[max(v)] if (v := spreads(f)) else math.nan for f in clones]
    apart = [separation_step(f) for f in clones]
    separated: Verdict = (
        "holds"
        if all(v > SEPARATED for v in final)
        else "fails"
        if all(v == 0 for v in final)
        else "inconclusive"
    )
    depth = clones[0].depth
    claims = [
        Claim(
            "clones-identical-at-init",
            f"nn.TransformerEncoder's {depth} layers start as exact copies (equal norms block by block at "
            "step 0), re-initialised layers do not",
            "holds" if identical else "fails",
            {
                "clones' spread at init": max(at_init),
                "re-initialised spread": min(reset_init, default=math.nan),
            },
        ),
        Claim(
            "clones-separate",
            f"the copies separate in training (relative norm spread across layers above {SEPARATED:g} at the "
            "last record)",
            separated,
            {
                "final spread": float(np.mean(final)),
                "first step apart": float(np.mean([s for s in apart if s is not None]))
                if all(s is not None for s in apart)
                else "never",
                "seeds": len(clones),
            },
        ),
    ]
    if reset:
        a, b = [f.final_bpc for f in clones], [f.final_bpc for f in reset]
        diff = difference_ci(a, b)
        claims.append(
            Claim(
                "clones-cost",
                "starting from copies costs bpc against re-initialised layers (Welch 95% CI of copies − "
                "re-initialised above 0)",
                above(diff.low, diff.high, 0.0),
                {
                    "copies bpc": float(np.mean(a)),
                    "re-initialised bpc": float(np.mean(b)),
                    "difference": diff.estimate,
                    "ci low": diff.low,
                    "ci high": diff.high,
                },
            )
        )
    return claims


def init_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    return [
        *amplification_claims(facts),
        *first_update_claims(facts),
        *mismatch_claims(facts),
        *clone_claims(facts),
    ]
