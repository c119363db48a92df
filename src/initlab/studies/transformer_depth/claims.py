"""The transformer-depth study's training claims, each verdict computed from the runs' facts with the
rule of :mod:`.outcome` (diverged, or clearly worse than pre-LN, or not under 4.30 bpc: fails).

1. ``post-ln-fails-with-depth``: post-LN without warm-up fails from some depth on while pre-LN trains at
   every depth (Xiong et al. 2020, arXiv 2002.04745); the onset depth is in its numbers.
2. ``warmup-rescues-post-ln``: warm-up makes post-LN train at every depth where (1) fails.
3. ``trains-without-warmup/<scheme>``: the scheme trains without warm-up at the deepest depth.
6. ``rezero-faster/<other>``: ReZero reaches :data:`TARGET_BPC` in fewer steps than ``other`` at equal
   depth (Bachlechner et al. 2020, arXiv 2003.04887: "56% faster" on enwik8 with 12 layers).
8. ``gpt2-scaling-matters``: GPT-2's 1/√(2L) residual scaling ends lower in bpc than plain N(0, 0.02²)
   (both pre-LN) at the deepest depth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from initlab.report import Claim, Verdict
from initlab.studies.transformer_depth.facts import RunFacts, depths_of, training
from initlab.studies.transformer_depth.grid import SCHEMES
from initlab.studies.transformer_depth.outcome import WORSE_BY, mean_bpc, outcome
from initlab.studies.verdicts import above, below, difference_ci

#: The steps-to-target bpc of claim 6: 0.8 bits under the unigram entropy (4.80).
TARGET_BPC = 4.0
#: ReZero's paper: 56% faster, i.e. 1/1.56 of the steps.
REZERO_PAPER_RATIO = 1 / 1.56
#: With fewer seeds per arm the steps-to-target ratio gets no interval.
MIN_SEEDS_FOR_RATIO = 4


def depth_outcomes(facts: Sequence[RunFacts], variant: str, warmup: bool) -> dict[int, str]:
    """Per depth, the outcome of ``variant`` with (``warmup``) or without warm-up against pre-LN's mean."""
    out = {}
    for depth in depths_of(training(facts, variant="pre-ln")):
        runs = [f for f in training(facts, variant=variant, depth=depth) if (f.warmup > 0) == warmup]
        reference = mean_bpc([f for f in training(facts, variant="pre-ln", depth=depth) if f.warmup == 0])
        out[depth] = outcome(runs, reference)
    return out


def _bpc_numbers(facts: Sequence[RunFacts], variant: str, warmup: bool) -> dict[str, float]:
    return {
        f"{variant}{' warm-up' if warmup else ''} L={d}": mean_bpc(
            [f for f in training(facts, variant=variant, depth=d) if (f.warmup > 0) == warmup]
        )
        for d in depths_of(training(facts, variant="pre-ln"))
    }


def onset_depth(outcomes: dict[int, str]) -> int | None:
    """The shallowest depth from which on every depth fails (None: the deepest does not fail)."""
    onset = None
    for depth in sorted(outcomes, reverse=True):
        if outcomes[depth] != "fails":
            break
        onset = depth
    return onset


def post_ln_claim(facts: Sequence[RunFacts]) -> Claim:
    post, pre = depth_outcomes(facts, "post-ln", False), depth_outcomes(facts, "pre-ln", False)
    onset = onset_depth(post)
    verdict: Verdict = "inconclusive"
    if post and all(o == "trains" for o in pre.values()) and onset is not None:
        verdict = "holds"
    elif post and (all(o == "trains" for o in post.values()) or any(o == "fails" for o in pre.values())):
        verdict = "fails"
    return Claim(
        "post-ln-fails-with-depth",
        f"post-LN without warm-up fails (diverges, or ends more than {WORSE_BY:g} bits above pre-LN's bpc "
        "or above 4.30) from some depth on, while pre-LN trains at every depth",
        verdict,
        {
            "onset depth": onset if onset is not None else "none",
            "post-LN": ", ".join(f"L={d} {o}" for d, o in post.items()),
            "pre-LN": ", ".join(f"L={d} {o}" for d, o in pre.items()),
            **_bpc_numbers(facts, "post-ln", False),
            **_bpc_numbers(facts, "pre-ln", False),
        },
    )


def warmup_claim(facts: Sequence[RunFacts]) -> Claim:
    failing = [d for d, o in depth_outcomes(facts, "post-ln", False).items() if o == "fails"]
    warm = depth_outcomes(facts, "post-ln", True)
    rescued = [d for d in failing if warm.get(d) == "trains"]
    not_rescued = [d for d in failing if warm.get(d) == "fails"]
    verdict: Verdict = "inconclusive"
    if failing and len(rescued) == len(failing):
        verdict = "holds"
    elif failing and len(not_rescued) == len(failing):
        verdict = "fails"
    return Claim(
        "warmup-rescues-post-ln",
        "with learning-rate warm-up, post-LN trains at every depth where it fails without",
        verdict,
        {
            "failing depths": ", ".join(map(str, failing)) or "none",
            "rescued": ", ".join(map(str, rescued)) or "none",
            "not rescued": ", ".join(map(str, not_rescued)) or "none",
            **_bpc_numbers(facts, "post-ln", True),
        },
        "" if failing else "post-LN did not fail at any depth without warm-up: nothing to rescue",
    )


def scheme_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    claims = []
    deepest = max(depths_of(training(facts)), default=0)
    reference = mean_bpc([f for f in training(facts, variant="pre-ln", depth=deepest) if f.warmup == 0])
    for scheme in SCHEMES:
        runs = training(facts, variant=scheme, depth=deepest)
        if not runs:
            continue
        result = outcome(runs, reference)
        claims.append(
            Claim(
                f"trains-without-warmup/{scheme}",
                f"{scheme} trains without warm-up at depth {deepest} (not diverged, under 4.30 bpc and at "
                f"most {WORSE_BY:g} bits above pre-LN's)",
                {"trains": "holds", "fails": "fails"}.get(result, "inconclusive"),  # type: ignore[arg-type]
                {
                    "val bpc": mean_bpc(runs),
                    "pre-LN val bpc": reference,
                    "diverged": sum(f.diverged for f in runs),
                    "seeds": len(runs),
                },
            )
        )
    return claims


def _steps(runs: Sequence[RunFacts]) -> list[int | None]:
    return [f.steps_to(TARGET_BPC) for f in runs]


def rezero_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    deepest = max(depths_of(training(facts)), default=0)
    rezero = training(facts, variant="rezero", depth=deepest)
    if not rezero:
        return []
    claims = []
    for other in ("pre-ln", "post-ln"):
        runs = [f for f in training(facts, variant=other, depth=deepest) if f.warmup == 0]
        mine, theirs = _steps(rezero), _steps(runs)
        reached = [s for s in mine if s is not None]
        their_reached = [s for s in theirs if s is not None]
        ratio = float(np.mean(reached) / np.mean(their_reached)) if reached and their_reached else math.nan
        low = high = math.nan
        every_reached = (len(reached), len(their_reached)) == (len(mine), len(theirs))
        verdict: Verdict = "inconclusive"
        if runs and len(reached) == len(mine) and not their_reached:
            verdict = "holds"
        elif runs and not reached and len(their_reached) == len(theirs):
            verdict = "fails"
        elif every_reached and min(len(mine), len(theirs)) >= MIN_SEEDS_FOR_RATIO:
            diff = difference_ci(list(np.log(reached)), list(np.log(their_reached)))
            low, high = math.exp(diff.low), math.exp(diff.high)
            verdict = below(low, high, 1.0)
        claims.append(
            Claim(
                f"rezero-faster/{other}",
                f"ReZero reaches {TARGET_BPC:g} val bpc in fewer steps than {other} at depth {deepest}, "
                f"without warm-up (the paper: {REZERO_PAPER_RATIO:.2f}× the steps on enwik8, 12 layers)",
                verdict,
                {
                    "ReZero steps": float(np.mean(reached)) if reached else "never",
                    f"{other} steps": float(np.mean(their_reached)) if their_reached else "never",
                    "ratio": ratio,
                    "ci low": low,
                    "ci high": high,
                    "reached": f"{len(reached)}/{len(mine)} and {len(their_reached)}/{len(theirs)}",
                },
                f"a ratio interval (Welch, log steps) needs {MIN_SEEDS_FOR_RATIO} seeds per arm that reach "
                "the target; a run that never reaches it decides only when every seed of one arm reaches it "
                "and none of the other's does",
            )
        )
    return claims


def gpt2_claim(facts: Sequence[RunFacts]) -> Claim | None:
    deepest = max(depths_of(training(facts)), default=0)
    gpt2 = [f.final_bpc for f in training(facts, variant="gpt2", depth=deepest)]
    plain = [f.final_bpc for f in training(facts, variant="normal-0.02", depth=deepest)]
    if not gpt2 or not plain:
        return None
    diff = difference_ci(plain, gpt2)
    return Claim(
        "gpt2-scaling-matters",
        f"at depth {deepest}, GPT-2's 1/√(2L) scaling of the residual output projections ends lower in val "
        "bpc than plain N(0, 0.02²) everywhere (pre-LN; Welch 95% CI of plain − GPT-2 above 0)",
        above(diff.low, diff.high, 0.0),
        {
            "GPT-2 bpc": float(np.mean(gpt2)),
            "N(0, 0.02²) bpc": float(np.mean(plain)),
            "difference": diff.estimate,
            "ci low": diff.low,
            "ci high": diff.high,
        },
    )


def training_claims(facts: Sequence[RunFacts]) -> list[Claim]:
    gpt2 = gpt2_claim(facts)
    return [
        post_ln_claim(facts),
        warmup_claim(facts),
        *scheme_claims(facts),
        *rezero_claims(facts),
        *([gpt2] if gpt2 else []),
    ]
