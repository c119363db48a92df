"""The zero-module claims, each computed from the conditions' :class:`~.facts.Facts`.

1. ``identity-at-init``: under ``zero-module`` every zeroed layer is a zero matrix of identical units
   at init (rank 0), and the step-0 evaluation loss equals that of an exactly zero output.
2. ``no-permanent-symmetry``: each zeroed layer's channels start as one group, the symmetry probe finds
   no permanent group among them, and they are apart by the last watched step.
3. ``update-order``: each parameter first gets a non-zero gradient at the predicted step
   (:func:`~.facts.predicted_steps`).
4. ``constant-one-group/<optimizer>``, ``constant-broken/<variant>``, ``constant-as-width-1``: constant
   filters keep the channels that feed each zeroed conv one group to the end (effective rank 1);
   random biases or dropout separate them; their loss is no better than a one-channel branch's.
5. ``double-zero-stays-zero``: with two zero modules in a row, no zeroed weight ever gets a gradient.
6. ``training/loss``, ``training/frechet``: zero-module and PyTorch's default tie within a margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from initlab.report import Claim, Verdict
from initlab.studies.verdicts import Difference, below, difference_ci
from initlab.studies.zero_module.facts import Facts
from initlab.studies.zero_module.grid import WATCHED_STEPS

#: "Tie": the 95% CI of the difference of final values lies within ± this fraction of the default's.
TIE = 0.05
#: "No better than one channel": loss(width-1) − loss(constant) stays below this fraction of width-1's.
WIDTH_ONE = 0.05


def within(ci: Difference, margin: float) -> Verdict:
    """*holds* if the CI lies inside ±margin, *fails* if it lies wholly outside, else *inconclusive*."""
    if not ci.defined:
        return "inconclusive"
    if -margin < ci.low and ci.high < margin:
        return "holds"
    if ci.high < -margin or ci.low > margin:
        return "fails"
    return "inconclusive"


def _layer(rows: dict[str, dict[str, float]], layer: str, name: str) -> float:
    return rows.get(layer, {}).get(name, math.nan)


def is_zero_at_init(rows: dict[str, dict[str, float]], layer: str) -> bool:
    """A layer's symmetry rows at init say it is a zero matrix (rank 0) whose units (weight rows with
    their bias) are all alike."""
    return _layer(rows, layer, "rank") == 0 and _layer(rows, layer, "largest_group") == _layer(
        rows, layer, "units"
    )


def identity_claim(zm: Facts) -> Claim:
    zeroed = zm.layers.zeroed
    bad_layers = sum(
        not is_zero_at_init(r.symmetry.get(0, {}), layer) for r in zm.runs if r.symmetry for layer in zeroed
    )
    exact = [r.init_loss == r.zero_loss for r in zm.runs if r.init_loss is not None]
    checked = [r for r in zm.runs if r.symmetry]
    verdict: Verdict = "inconclusive"
    if checked and exact:
        verdict = "holds" if bad_layers == 0 and all(exact) else "fails"
    return Claim(
        "identity-at-init",
        "zero-module: every ResBlock's last conv, every attention proj_out and the output conv are zero "
        "(rank 0, all units alike) at init, and the step-0 evaluation loss is exactly that of a zero output",
        verdict,
        {
            "runs": len(checked),
            "zeroed layers per run": len(zeroed),
            "zeroed layers not zero": bad_layers,
            "init loss = zero-output loss": sum(exact),
            "zero-output loss": zm.runs[0].zero_loss if zm.runs else math.nan,
        },
    )


def separation_counts(facts: Facts) -> dict[str, int]:
    """Over the runs and the zeroed layers with several units: how many start as one group, how many
    of those the probe calls permanent, and how many are apart at the last watched step."""
    counts = {
        "layers": 0,
        "one group at init": 0,
        "permanent at init": 0,
        "apart by the last watched step": 0,
    }
    last = WATCHED_STEPS - 1
    for r in facts.runs:
        if 0 not in r.symmetry or last not in r.symmetry:
            continue
        for layer in facts.layers.zeroed:
            units = _layer(r.symmetry[0], layer, "units")
            if not units > 1:
                continue
            counts["layers"] += 1
            counts["one group at init"] += _layer(r.symmetry[0], layer, "largest_group") == units
            counts["permanent at init"] += _layer(r.symmetry[0], layer, "permanent_largest_group") > 1
            counts["apart by the last watched step"] += _layer(r.symmetry[last], layer, "largest_group") == 1
    return counts


def separation_claim(zm: Facts) -> Claim:
    c = separation_counts(zm)
    verdict: Verdict = "inconclusive"
    if c["layers"]:
        ok = (
            c["one group at init"] == c["layers"] == c["apart by the last watched step"]
            and not c["permanent at init"]
        )
        verdict = "holds" if ok else "fails"
    return Claim(
        "no-permanent-symmetry",
        "zero-module: each zeroed conv's channels start as one group of identical (zero) units, the symmetry "
        "probe finds no permanent group among them, and every channel is distinct by step "
        f"{WATCHED_STEPS - 1}",
        verdict,
        c,
    )


def order_mismatches(facts: Facts, event: str = "first_grad") -> dict[str, tuple[int, int | None]]:
    """``{parameter: (predicted, observed)}`` where the latest observed step over seeds differs from the
    prediction (None: never within the run); parameters predicted beyond the shortest run are skipped."""
    out: dict[str, tuple[int, int | None]] = {}
    steps = min((r.steps for r in facts.runs), default=0)
    for param, predicted in facts.layers.predicted.items():
        if predicted >= steps:  # not reached by the shortest run: nothing to compare
            continue
        seen = [getattr(r, event).get(param) for r in facts.runs]
        observed = None if any(s is None for s in seen) else max(seen, default=None)
        if observed != predicted:
            out[param] = (predicted, observed)
    return out


def order_claim(zm: Facts) -> Claim:
    grad, change = order_mismatches(zm), order_mismatches(zm, "first_change")
    verdict: Verdict = (
        "inconclusive" if not zm.runs or not zm.runs[0].first_grad else ("holds" if not grad else "fails")
    )
    return Claim(
        "update-order",
        "zero-module: at step 0 only the output conv gets a non-zero gradient; at step 1 the zeroed layers "
        "and the main stream (first conv, down/upsampling, skip convs, output norm); at step 2 the "
        "branches' insides and the time embedding (first non-zero gradient per parameter, latest over seeds)",
        verdict,
        {
            "parameters": len(zm.layers.predicted),
            "first gradient off the prediction": len(grad),
            "first change off the prediction": len(change),
        },
    )


def one_group_to_the_end(facts: Facts) -> tuple[int, int, float]:
    """(feeding convs checked over runs, those one group at every record, largest effective rank at the
    last record)."""
    checked = whole = 0
    worst_rank = 0.0
    for r in facts.runs:
        if not r.symmetry:
            continue
        for layer in facts.layers.feeding:
            checked += 1
            whole += all(
                _layer(rows, layer, "largest_group") == _layer(rows, layer, "units")
                for rows in r.symmetry.values()
            )
            worst_rank = max(worst_rank, _layer(r.symmetry[max(r.symmetry)], layer, "effective_rank"))
    return checked, whole, worst_rank


def constant_claims(
    constant: dict[str, Facts], broken: dict[str, Facts], width_one: Facts | None
) -> list[Claim]:
    claims = []
    for optimizer, facts in constant.items():
        checked, whole, rank = one_group_to_the_end(facts)
        verdict: Verdict = (
            "inconclusive" if not checked else ("holds" if whole == checked and rank <= 1 + 1e-9 else "fails")
        )
        claims.append(
            Claim(
                f"constant-one-group/{optimizer}",
                f"constant filters, {optimizer}: the channels of every ResBlock's first conv (those that "
                "reach its "
                "zeroed conv) stay one group of identical channels at every record to the end, effective "
                "rank 1",
                verdict,
                {
                    "runs": len(facts.runs),
                    "convs checked": checked,
                    "one group throughout": whole,
                    "largest effective rank at the end": rank,
                },
            )
        )
    for variant, facts in broken.items():
        apart = checked = 0
        for r in facts.runs:
            if not r.symmetry:
                continue
            end = r.symmetry[max(r.symmetry)]
            for layer in facts.layers.feeding:
                checked += 1
                apart += _layer(end, layer, "largest_group") < _layer(end, layer, "units")
        verdict = "inconclusive" if not checked else ("holds" if apart == checked else "fails")
        claims.append(
            Claim(
                f"constant-broken/{variant}",
                f"constant filters with {variant}: the channels of every ResBlock's first conv are no longer "
                "one group at the last record",
                verdict,
                {"runs": len(facts.runs), "convs checked": checked, "not one group at the end": apart},
            )
        )
    adam = constant.get("adam")
    if adam is not None and width_one is not None:
        gap = difference_ci(width_one.values("loss"), adam.values("loss"))
        margin = WIDTH_ONE * (sum(width_one.values("loss")) / max(len(width_one.values("loss")), 1))
        claims.append(
            Claim(
                "constant-as-width-1",
                "constant filters train no better than a U-Net whose ResBlock branches are one channel wide: "
                f"the 95% Welch CI of loss(width 1) − loss(constant) lies below {WIDTH_ONE:.0%} of the "
                "width-1 loss",
                below(gap.low, gap.high, margin),
                {
                    "constant loss": _mean(adam.values("loss")),
                    "width-1 loss": _mean(width_one.values("loss")),
                    "gap": gap.estimate,
                    "ci low": gap.low,
                    "ci high": gap.high,
                    "margin": margin,
                },
            )
        )
    return claims


def double_zero_claim(double: Facts) -> Claim:
    moved = [
        param
        for r in double.runs
        for layer in double.layers.zeroed[:-1]
        if (param := f"{layer}.weight") in r.first_grad
    ]
    steps = max((r.steps for r in double.runs), default=0)
    verdict: Verdict = (
        "inconclusive"
        if not double.runs or not double.runs[0].first_grad
        else ("holds" if not moved else "fails")
    )
    return Claim(
        "double-zero-stays-zero",
        "two zero modules in a row (each branch's first layers zero too): no branch's last weight ever gets "
        "a "
        f"non-zero gradient, over the whole run ({steps} steps)",
        verdict,
        {
            "runs": len(double.runs),
            "zeroed weights": len(double.layers.zeroed) - 1,
            "weights that got a gradient": len(moved),
            "steps": steps,
        },
    )


def training_claims(zm: Facts, default: Facts) -> list[Claim]:
    claims = []
    for what, metric, label in (
        ("loss", "loss", "evaluation loss"),
        ("frechet", "frechet", "Fréchet distance"),
    ):
        a, b = zm.values(metric), default.values(metric)
        if not a and not b:  # not recorded (sampling off)
            continue
        gap = difference_ci(a, b)
        margin = TIE * _mean(b) if b else math.nan
        claims.append(
            Claim(
                f"training/{what}",
                f"zero-module and PyTorch's default reach the same final {label} at equal steps: the 95% "
                "Welch CI "
                f"of zero-module − default lies within ±{TIE:.0%} of the default's",
                within(gap, margin) if math.isfinite(margin) else "inconclusive",
                {
                    "zero-module": _mean(a),
                    "default": _mean(b),
                    "difference": gap.estimate,
                    "ci low": gap.low,
                    "ci high": gap.high,
                    "margin": margin,
                    "seeds": min(len(a), len(b)),
                },
            )
        )
    return claims


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def all_claims(conditions: dict[str, Facts]) -> list[Claim]:
    """Every claim the stored conditions allow (by the names of :func:`~.analysis.condition_name`)."""
    claims = []
    zm = conditions.get("zero-module")
    if zm is not None:
        claims += [identity_claim(zm), separation_claim(zm), order_claim(zm)]
    constant = {o: conditions[f"constant/{o}"] for o in ("adam", "sgd") if f"constant/{o}" in conditions}
    broken = {
        v: conditions[f"constant+{v}"] for v in ("random biases", "dropout") if f"constant+{v}" in conditions
    }
    if constant or broken:
        claims += constant_claims(constant, broken, conditions.get("width-1"))
    if "two zero modules" in conditions:
        claims.append(double_zero_claim(conditions["two zero modules"]))
    if "training/zero-module" in conditions and "training/pytorch-default" in conditions:
        claims += training_claims(conditions["training/zero-module"], conditions["training/pytorch-default"])
    return claims
