"""The residual-zero claims, computed from each condition's :class:`~.facts.Facts`.

- all-zero init: every hidden layer is one permanent group of identical channels at init and at the
  last record, and the accuracy stays at the majority class (the textbook symmetry; the seed study,
  c-schicho/ZeroInitializationSymmetry, measured ≈ .1135 on MNIST);
- each zero-branch scheme (``zero_module``, Fixup: Zhang, Dauphin & Ma 2019, arXiv 1901.09321;
  ReZero: Bachlechner et al. 2020, arXiv 2003.04887; SkipInit: De & Smith 2020, arXiv 2002.10444;
  zero-γ: Goyal et al. 2017, arXiv 1706.02677): no permanent symmetry at init, every weight has a
  non-zero gradient within ``WAKE_UP_STEPS`` steps, and the final accuracy is within ``MARGIN`` of
  the default with the same normalization;
- constant init: every hidden layer is one permanent group at init and its weight still has rank 1
  at the end; the conv net trains far above the majority class, the FNN ends far below its default.
"""

from __future__ import annotations

import math

from initlab.report import Claim, Verdict
from initlab.studies.residual_zero.facts import Facts, SettingFacts
from initlab.studies.residual_zero.grid import WAKE_UP_STEPS, ZERO_BRANCH
from initlab.studies.verdicts import above, below, difference_ci, mean_interval
from initlab.studies.zero_symmetry import MAJORITY_SLACK

#: "Trains to an accuracy near the default": the 95% CI of default − scheme lies below this.
MARGIN = 0.03
#: The constant FNN (one hidden unit in effect) ends at least this far below its default.
COLLAPSE_GAP = 0.2
#: The constant conv net "trains far above chance": its accuracy's 95% CI lies this far above the
#: majority class.
TRAINS_ABOVE_MAJORITY = 0.5


def zeros_claims(where: str, tag: str, zeros: Facts, majority: float) -> list[Claim]:
    s = zeros.symmetry
    permanent: Verdict = "inconclusive"
    if s:
        whole = all(r.whole_permanent_at_init == r.hidden == r.whole_permanent_at_end for r in s)
        permanent = "holds" if whole else "fails"
    chance: Verdict = "inconclusive"
    if zeros.accuracies:
        chance = "holds" if max(zeros.accuracies) <= majority + MAJORITY_SLACK else "fails"
    return [
        Claim(
            f"zeros-permanent/{tag}",
            f"{where}, all-zero init: every hidden layer is one group of identical channels with a permanent "
            "verdict, at init and at the last recorded step",
            permanent,
            {
                "runs": len(s),
                "hidden layers": zeros.worst("hidden"),
                "one permanent group at init": zeros.worst("whole_permanent_at_init", min),
                "one permanent group at the end": zeros.worst("whole_permanent_at_end", min),
                "last step": zeros.worst("last_step", min),
            },
        ),
        Claim(
            f"zeros-chance/{tag}",
            f"{where}, all-zero init: the accuracy stays at the majority class ({majority:.4f})",
            chance,
            {"runs": len(zeros.accuracies), "best accuracy": max(zeros.accuracies, default=math.nan)},
        ),
    ]


def zero_branch_claims(where: str, tag: str, facts: Facts, default: Facts | None) -> list[Claim]:
    s, o = facts.symmetry, facts.order
    wakes: Verdict = "inconclusive"
    if s and o:
        no_permanent = all(r.permanent_at_init == 0 for r in s)
        wakes = "holds" if no_permanent and facts.latest_grad <= WAKE_UP_STEPS else "fails"
    claims = [
        Claim(
            f"wakes-up/{tag}/{facts.init}",
            f"{where}, {facts.name}: no permanent symmetry at init, and every conv and linear weight gets a "
            f"non-zero gradient within {WAKE_UP_STEPS} steps",
            wakes,
            {
                "runs": len(s),
                "largest group of identical units at init": facts.worst("largest_group_at_init"),
                "largest permanent group at init": facts.worst("largest_permanent_at_init"),
                "latest first-gradient step": facts.latest_grad,
            },
        )
    ]
    if default is not None:
        gap = difference_ci(default.accuracies, facts.accuracies)
        claims.append(
            Claim(
                f"near-default/{tag}/{facts.init}",
                f"{where}, {facts.name}: trains to within {MARGIN * 100:.0f} points of {default.name} "
                "(95% Welch CI of default − scheme below the margin)",
                below(gap.low, gap.high, MARGIN),
                {
                    "accuracy": facts.mean,
                    "default": default.mean,
                    "gap": gap.estimate,
                    "ci low": gap.low,
                    "ci high": gap.high,
                },
            )
        )
    return claims


def constant_claims(
    where: str, tag: str, constant: Facts, default: Facts | None, majority: float
) -> list[Claim]:
    s = constant.symmetry
    permanent: Verdict = "inconclusive"
    if s:
        whole = all(r.whole_permanent_at_init == r.hidden == r.rank_one_at_end for r in s)
        permanent = "holds" if whole else "fails"
    units = "channels" if constant.layers.convs else "units"
    claims = [
        Claim(
            f"constant-permanent/{tag}",
            f"{where}, constant init: every hidden layer's {units} are one group with a permanent verdict at "
            "init, and its weight still has rank 1 at the last recorded step (all copies of one)",
            permanent,
            {
                "runs": len(s),
                "hidden layers": constant.worst("hidden"),
                "one permanent group at init": constant.worst("whole_permanent_at_init", min),
                "rank 1 at the end": constant.worst("rank_one_at_end", min),
                "largest rank at the end": constant.worst("max_rank_at_end"),
                "last step": constant.worst("last_step", min),
            },
        )
    ]
    mean, low, high = mean_interval(constant.accuracies)
    if constant.layers.convs:
        claims.append(
            Claim(
                f"constant-conv-trains/{tag}",
                f"{where}, constant init: the one-channel conv net still trains, far above the majority "
                f"class (95% CI of the accuracy above {majority:.3f} + {TRAINS_ABOVE_MAJORITY}): locality "
                "keeps positions apart",
                above(low, high, majority + TRAINS_ABOVE_MAJORITY),
                {
                    "accuracy": mean,
                    "ci low": low,
                    "ci high": high,
                    "default": default.mean if default is not None else math.nan,
                },
            )
        )
    elif default is not None:
        gap = difference_ci(default.accuracies, constant.accuracies)
        claims.append(
            Claim(
                f"constant-collapses/{tag}",
                f"{where}, constant init: with one hidden unit in effect it ends more than "
                f"{COLLAPSE_GAP * 100:.0f} points below {default.name} (95% Welch CI of the gap above it)",
                above(gap.low, gap.high, COLLAPSE_GAP),
                {
                    "accuracy": mean,
                    "default": default.mean,
                    "gap": gap.estimate,
                    "ci low": gap.low,
                    "ci high": gap.high,
                },
            )
        )
    return claims


def setting_claims(setting: SettingFacts) -> list[Claim]:
    """Every claim of one (dataset, model) setting that its conditions allow."""
    where, tag, facts = setting.where, setting.tag, setting.conditions
    claims: list[Claim] = []
    if "zeros" in facts:
        claims += zeros_claims(where, tag, facts["zeros"], setting.majority)
    for scheme in ZERO_BRANCH:
        if scheme in facts:
            claims += zero_branch_claims(where, tag, facts[scheme], setting.default_for(facts[scheme]))
    if "constant" in facts:
        constant = facts["constant"]
        claims += constant_claims(where, tag, constant, setting.default_for(constant), setting.majority)
    return claims
