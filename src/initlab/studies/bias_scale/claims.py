"""The bias-scale claims, per model, comparing scale 100 with scale 1 (the seed study's default):

- *lower accuracy*: runs at 100 diverge (and none at 1), or the 95% Welch interval of
  acc(1) − acc(100) lies above 0;
- *more jagged*: the 95% Welch interval of J(100) − J(1) lies above 0;
- *more variable*: the 95% F interval of var(100)/var(1) (across-seed variance of the final
  accuracy) lies above 1;
- *large biases are unstable*: lower accuracy, and more jagged or more variable;

and where scale 100 ends, as the seed study (c-schicho/ZeroInitializationSymmetry) saw it: *stuck at
chance* (its CNN, and models it did not train: every run at scale 100 ends within ``STUCK_SLACK`` of
the majority class's share of the test set), or *still trains* (its FNN: every run ends more than
0.5 above that share).
"""

from __future__ import annotations

import math

from initlab.report import Claim, Verdict
from initlab.studies.bias_scale.grid import LARGE_SCALE, REFERENCE_SCALE
from initlab.studies.bias_scale.results import ScaleResult, variance
from initlab.studies.verdicts import above, all_of, any_of, difference_ci, mean_interval, variance_ratio_ci
from initlab.studies.zero_symmetry import majority_fraction

#: The seed study's final test accuracy at bias factor 100 (read off its plot).
SEED_STUDY_AT_LARGE = {"mnist-fnn": 0.86, "mnist-cnn": 0.10}
#: "Stuck at chance": no run beats the majority class's share of the test set by more than this.
STUCK_SLACK = 0.02
#: "Still trains": every run beats the majority class's share by more than this.
TRAINS_MARGIN = 0.5


def setting_claims(setting: str, results: dict[float, ScaleResult]) -> list[Claim]:
    """The claims of one setting (none if scale 1 or scale 100 has no run)."""
    ref, large = results.get(REFERENCE_SCALE), results.get(LARGE_SCALE)
    if ref is None or large is None:
        return []
    at, tag = setting, setting.replace(" ", "/")
    acc = difference_ci(ref.accuracies, large.accuracies)
    lower: Verdict = "holds" if large.diverged and not ref.diverged else above(acc.low, acc.high, 0.0)
    jag = difference_ci(large.jagged, ref.jagged)
    var = variance_ratio_ci(large.accuracies, ref.accuracies)
    more_variable: Verdict = "holds" if var.low == math.inf else above(var.low, var.high, 1.0)
    jagged = above(jag.low, jag.high, 0.0)
    claims = [
        Claim(
            f"lower-accuracy/{tag}",
            f"{at}: at bias scale 100 runs diverge, or the final test accuracy is lower than at scale 1 "
            "(95% Welch CI of acc(1) − acc(100) above 0)",
            lower,
            {
                "acc(1)": mean_interval(ref.accuracies)[0],
                "acc(100)": mean_interval(large.accuracies)[0],
                "difference": acc.estimate,
                "ci low": acc.low,
                "ci high": acc.high,
                "diverged(1)": ref.diverged,
                "diverged(100)": large.diverged,
            },
        ),
        Claim(
            f"more-jagged/{tag}",
            f"{at}: the per-epoch test-accuracy curve is more jagged at scale 100 than at 1 "
            "(jaggedness J = accuracy lost to epoch-to-epoch drops; 95% Welch CI of J(100) − J(1) above 0)",
            jagged,
            {
                "J(1)": mean_interval(ref.jagged)[0],
                "J(100)": mean_interval(large.jagged)[0],
                "difference": jag.estimate,
                "ci low": jag.low,
                "ci high": jag.high,
                "drops(1)": sum(ref.drops),
                "drops(100)": sum(large.drops),
            },
        ),
        Claim(
            f"more-variable/{tag}",
            f"{at}: the final accuracy varies more across seeds at scale 100 than at 1 "
            "(95% F interval of var(100)/var(1) above 1)",
            more_variable,
            {
                "var(1)": variance(ref.accuracies),
                "var(100)": variance(large.accuracies),
                "ratio": var.estimate,
                "ci low": var.low,
                "ci high": var.high,
            },
        ),
        outcome_claim(at, tag, large),
        Claim(
            f"unstable/{tag}",
            f"{at}: large biases are unstable: at scale 100 lower accuracy (or divergence), and a more "
            "jagged curve or a larger across-seed variance, than at scale 1",
            all_of([lower, any_of([jagged, more_variable])]),
            {"lower accuracy": lower, "more jagged": jagged, "more variable": more_variable},
        ),
    ]
    return claims


def outcome_claim(at: str, tag: str, large: ScaleResult) -> Claim:
    """Where scale 100 ends, as the seed study saw it for this model: at chance (its CNN, and models
    it did not train), or still far above chance (its FNN, about .86)."""
    majority = majority_fraction(large.condition.config["dataset"])
    seed = SEED_STUDY_AT_LARGE.get(large.condition.config["model"])
    finished = len(large.accuracies)
    if seed is not None and seed > majority + STUCK_SLACK:
        worst = min(large.accuracies, default=math.nan)
        return Claim(
            f"still-trains/{tag}",
            f"{at}: at bias scale 100 every run still trains far above chance (accuracy > {majority:.3f} "
            f"+ {TRAINS_MARGIN}), as the seed study's did (about {seed:.2f})",
            ("holds" if worst > majority + TRAINS_MARGIN else "fails") if finished else "inconclusive",
            {"worst accuracy(100)": worst, "majority": majority, "runs": finished},
        )
    best = max(large.accuracies, default=math.nan)
    return Claim(
        f"stuck-at-chance/{tag}",
        f"{at}: at bias scale 100 every run ends at chance (no finished run beats the majority class, "
        f"{majority:.4f}, by more than {STUCK_SLACK * 100:.0f} points)"
        + (f", as the seed study's did ({seed:.2f})" if seed is not None else ""),
        ("holds" if best <= majority + STUCK_SLACK else "fails") if finished else "inconclusive",
        {"best accuracy(100)": best, "majority": majority, "runs": finished},
    )
