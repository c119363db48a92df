"""The rank-gap report's sentences that state a conclusion, each chosen from the claims' verdicts and
numbers: the answer to the seed study's open question first, then one sentence per question."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from initlab.report import Claim

Claims = Mapping[str, Claim]


def _family(claims: Claims, family: str) -> list[Claim]:
    return [c for name, c in claims.items() if name.startswith(f"{family}/")]


def _tail(claim: Claim) -> str:
    """The claim's name after its family: ``mnist-cnn/conv1``."""
    return claim.name.split("/", 1)[1]


def rank_text(claims: Claims) -> str:
    """How far below the default the zero-initialized layers' effective ranks stay, per layer."""
    far = _family(claims, "rank-far-below")
    if not far:
        return "No run recorded the effective ranks of both arms."
    held = [c for c in far if c.verdict == "holds"]
    parts = [f"{_tail(c)} {c.numbers['ratio']:.2f}" for c in far]
    head = (
        f"At the last epoch, {len(held)} of {len(far)} zero-initialized layers stay below half the default's "
        f"effective rank (zero/default: {'; '.join(parts)})"
    )
    others = [c for c in far if c.verdict != "holds"]
    if not others:
        return head + "."
    named = ", ".join(f"{_tail(c)} ({c.verdict})" for c in others)
    return head + f"; not shown far below: {named}."


def relation_text(claims: Claims) -> str:
    """ρ(gap, deficit) pooled, and the settings where it does not hold."""
    pooled = claims.get("gap-tracks-deficit")
    if pooled is None or pooled.numbers["points"] == 0:
        return "No (setting, seed, epoch) point had both a gap and a rank deficit."
    n = pooled.numbers
    interval = f"[{n['ci low']:.2f}, {n['ci high']:.2f}]"
    where = f"ρ = {n['rho']:.2f}, 95% seed-bootstrap interval {interval}, {n['points']} points"
    lead = {
        "holds": f"Across settings and epochs the accuracy gap tracks the rank deficit ({where})",
        "fails": f"Across settings and epochs the accuracy gap falls as the rank deficit rises ({where})",
        "inconclusive": f"Whether the accuracy gap tracks the rank deficit across settings and epochs is "
        f"undecided ({where})",
    }[pooled.verdict]
    off = [c for c in _family(claims, "gap-tracks-deficit") if c.verdict != "holds"]
    if not off:
        return lead + "; it holds within every setting too."
    named = ", ".join(f"{_tail(c)} (ρ = {c.numbers['rho']:.2f}, {c.verdict})" for c in off)
    return lead + f"; within a setting it is not shown in {named}."


def _arms(claims: Claims, family: str, setting: str, verdict: str) -> list[str]:
    return [
        c.name.rsplit("/", 1)[1]
        for c in _family(claims, family)
        if c.name.split("/")[1] == setting and c.verdict == verdict
    ]


def intervention_text(claims: Claims, setting: str) -> str:
    """Which interventions lowered the rank deficit and which narrowed the gap, on ``setting``."""
    faster = _arms(claims, "faster-rank", setting, "holds")
    narrower = _arms(claims, "narrower-gap", setting, "holds")
    both = [a for a in faster if a in narrower]
    rank_only = [a for a in faster if a not in narrower]
    gap_only = [a for a in narrower if a not in faster]
    measured = [
        f"{c.name.rsplit('/', 1)[1]} {c.numbers['deficit']:.2f} and {gap.numbers['gap']:.3f}"
        for c in _family(claims, "faster-rank")
        if c.name.split("/")[1] == setting
        and (gap := claims.get(c.name.replace("faster-rank/", "narrower-gap/", 1))) is not None
    ]
    zero = next((c for c in _family(claims, "narrower-gap") if c.name.split("/")[1] == setting), None)
    undecided = sum(
        len(_arms(claims, family, setting, "inconclusive")) for family in ("faster-rank", "narrower-gap")
    )
    parts = [
        f"On {setting}, at 95%: {_list(faster)} lowered the rank deficit and {_list(narrower)} narrowed "
        f"the gap ({undecided} of {2 * len(measured)} comparisons undecided)"
    ]
    if zero is not None:
        base = claims[zero.name.replace("narrower-gap/", "faster-rank/", 1)].numbers["zero's deficit"]
        zero_gap = zero.numbers["zero's gap"]
        parts.append(
            f"rank deficit and gap at the last epoch: zero weights {base:.2f} and {zero_gap:.3f}, "
            + ", ".join(measured)
        )
    if both:
        parts.append(f"both: {', '.join(both)}")
    if rank_only:
        parts.append(f"a higher rank without a smaller gap: {', '.join(rank_only)}")
    if gap_only:
        parts.append(f"a smaller gap without a higher rank: {', '.join(gap_only)}")
    return "; ".join(parts) + "."


def _list(arms: Sequence[str]) -> str:
    return ", ".join(arms) if arms else "none"


def answer_text(claims: Claims) -> str:
    """The answer to the seed study's open question, from the rank, relation and intervention verdicts."""
    far = _family(claims, "rank-far-below")
    low = sum(c.verdict == "holds" for c in far)
    stays = (
        f"The zero-initialized layers do stay low-rank ({low} of {len(far)} layers below half the default's "
        "effective rank at the end)"
        if far and low * 2 > len(far)
        else f"The zero-initialized layers do not stay clearly low-rank ({low} of {len(far)} layers below "
        "half the default's effective rank at the end)"
    )
    explains = _family(claims, "rank-explains")
    verdicts = {c.verdict for c in explains}
    pooled = claims.get("gap-tracks-deficit")
    tracks = pooled is not None and pooled.verdict == "holds"
    if explains and verdicts == {"holds"} and tracks:
        return (
            f"Yes, as far as these runs go. {stays}, the gap tracks the rank deficit across settings and "
            "epochs, and the interventions that raise the rank faster are the ones that close the gap."
        )
    if "fails" in verdicts:
        bad = [c for c in explains if c.verdict == "fails"]
        settings = ", ".join(_tail(c) for c in bad)
        gap_only = sorted(
            {a for c in bad for a in _arms(claims, "narrower-gap", _tail(c), "holds")}
            - {a for c in bad for a in _arms(claims, "faster-rank", _tail(c), "holds")}
        )
        instead = (
            f" What closes it instead ({', '.join(gap_only)}) changes how fast the network leaves its first "
            "plateau more than the rank: the gap points to slow early training, of which the low rank is a "
            "symptom, not the cause."
            if gap_only
            else " Some interventions raise the rank without closing the gap, so the rank alone does not "
            "set the accuracy."
        )
        return (
            f"Not by rank alone. {stays}"
            + (", and the gap tracks the rank deficit" if tracks else "")
            + f", but on {settings} the interventions split the two: rank is not the explanation."
            + instead
        )
    return (
        f"Not settled by these runs. {stays}"
        + (", and the gap tracks the rank deficit" if tracks else "")
        + "; the interventions do not decide whether a faster-growing rank closes the gap (too few seeds or "
        "runs for the intervals)." + best_text(claims)
    )


def best_text(claims: Claims) -> str:
    """By the point estimates: the intervention that closed the most of the gap, and its rank deficit
    against zero weights' (empty when no intervention was measured)."""
    closed = [
        (c.numbers["gap closed"], c)
        for c in _family(claims, "narrower-gap")
        if math.isfinite(c.numbers["gap closed"])
    ]
    if not closed:
        return ""
    fraction, best = max(closed, key=lambda pair: pair[0])
    rank = claims.get(best.name.replace("narrower-gap/", "faster-rank/", 1))
    if rank is None:
        return ""
    setting, arm = best.name.split("/")[1:]
    deficit, zero_deficit = rank.numbers["deficit"], rank.numbers["zero's deficit"]
    return (
        f" By the point estimates, {arm} on {setting} closed the most of the gap ({fraction:.0%}), with a "
        f"rank deficit of {deficit:.2f} against zero weights' {zero_deficit:.2f}."
    )


def order_text(claims: Claims) -> str:
    """The update-order facts on each setting."""
    orders, ones = _family(claims, "order"), _family(claims, "rank-one")
    if not orders:
        return "No zero-weight run recorded its first changes."
    exact = [_tail(c) for c in orders if c.verdict == "holds"]
    not_exact = [_tail(c) for c in orders if c.verdict == "fails"]
    first = f"Layer L−k first changes at step k in {_list(exact)}" + (
        f"; not exactly in {', '.join(not_exact)}" if not_exact else ""
    )
    rank_one = [_tail(c) for c in ones if c.verdict == "holds"]
    above_one = [
        f"{_tail(c)} (largest {c.numbers['largest rank']:.0f}, effective rank at most "
        f"{c.numbers['largest effective rank']:.2f})"
        for c in ones
        if c.verdict == "fails"
    ]
    second = f"every weight matrix is rank 1 right after its first update in {_list(rank_one)}" + (
        f"; not in {', '.join(above_one)}" if above_one else ""
    )
    return f"{first}; {second}."
