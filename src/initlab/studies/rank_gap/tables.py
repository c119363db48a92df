"""The rank-gap study's tables: ranks per epoch, the (gap, deficit) points, the relation per setting and
the intervention table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from initlab.report import Claim, Table
from initlab.studies.rank_gap.facts import (
    Point,
    RunFacts,
    final_epoch,
    finite,
    rank_deficit,
    reference_of,
    settings_of,
    where,
)
from initlab.studies.verdicts import interval_text


def _mean(values: Sequence[float | None]) -> float:
    kept = finite(values)
    return float(np.mean(kept)) if kept else math.nan


def rank_table(facts: Sequence[RunFacts]) -> Table:
    """Per setting, layer and epoch: the mean effective rank of each arm and their ratio."""
    rows = []
    for setting in settings_of(facts):
        zero, default = (
            where(facts, setting=setting, arm="zero"),
            where(facts, setting=setting, arm="default"),
        )
        if not zero or not default:
            continue
        for layer in zero[0].layers:
            for epoch in range(final_epoch(zero + default) + 1):
                z = [f.rank_at_epoch(layer, epoch) for f in zero]
                d = [f.rank_at_epoch(layer, epoch) for f in default]
                rows.append(
                    {
                        "setting": setting,
                        "layer": layer,
                        "epoch": epoch,
                        "zero": _mean(z),
                        "default": _mean(d),
                        "zero/default": _mean(z) / _mean(d) if _mean(d) else math.nan,
                        "seeds": len(finite(z)),
                    }
                )
    return Table.from_rows(rows)


def points_table(points: Sequence[Point]) -> Table:
    return Table.from_rows(
        {"setting": p.setting, "seed": p.seed, "epoch": p.epoch, "gap": p.gap, "rank deficit": p.deficit}
        for p in points
    )


def relation_table(claims: Mapping[str, Claim]) -> Table:
    """ρ with its interval, pooled and per setting, from the relation claims."""
    rows = []
    for name, claim in claims.items():
        if name == "gap-tracks-deficit" or name.startswith("gap-tracks-deficit/"):
            n = claim.numbers
            rows.append(
                {
                    "points": "all settings" if name == "gap-tracks-deficit" else name.split("/", 1)[1],
                    "n": n["points"],
                    "Spearman ρ": n["rho"],
                    "95% CI": f"[{n['ci low']:.2f}, {n['ci high']:.2f}]"
                    if math.isfinite(n["ci low"])
                    else "n too small for an interval",
                    "verdict": claim.verdict,
                }
            )
    return Table.from_rows(rows)


def intervention_rows(facts: Sequence[RunFacts], claims: Mapping[str, Claim]) -> list[dict[str, Any]]:
    """Per intervention setting and arm at the last epoch: accuracy, gap to its default, rank deficit,
    and the two verdicts."""
    rows = []
    for setting in settings_of(facts):
        mine = where(facts, setting=setting)
        arms = list(dict.fromkeys(f.arm for f in mine))
        if len(arms) <= 2:
            continue
        epoch = final_epoch(mine)
        for arm in arms:
            runs = where(mine, arm=arm)
            refs = [(f, reference_of(facts, f)) for f in runs]
            accs = [f.accuracy.get(epoch) for f in runs]
            gaps = [
                ref.accuracy[epoch] - f.accuracy[epoch]
                for f, ref in refs
                if ref is not None and epoch in f.accuracy and epoch in ref.accuracy
            ]
            deficits = [rank_deficit(f, ref, epoch) for f, ref in refs if ref is not None]
            rank, gap = (
                claims.get(f"faster-rank/{setting}/{arm}"),
                claims.get(f"narrower-gap/{setting}/{arm}"),
            )
            rows.append(
                {
                    "setting": setting,
                    "arm": arm,
                    "epoch": epoch,
                    "seeds": len(finite(accs)),
                    "test accuracy": _mean(accs),
                    "95% CI": interval_text(finite(accs)),
                    "gap": _mean(gaps),
                    "rank deficit": _mean(deficits),
                    "lower deficit than zero": rank.verdict if rank else "",
                    "narrower gap than zero": gap.verdict if gap else "",
                }
            )
    return rows
