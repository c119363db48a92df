"""The residual-zero report's tables, each computed from the conditions' :class:`~.facts.Facts`."""

from __future__ import annotations

import math
from collections.abc import Sequence

from initlab.report import Table
from initlab.store import Store
from initlab.studies.residual_zero.facts import Facts, first_steps
from initlab.studies.residual_zero.text import fate


def symmetry_table(facts: Sequence[Facts]) -> Table:
    """Per condition, counts of hidden layers (maximum over seeds) by their symmetry at init and at the
    last record."""
    rows = []
    for f in facts:
        rows.append(
            {
                "setting": f.setting,
                "init": f.name,
                "hidden layers": f.worst("hidden"),
                "identical units at init": f.worst("grouped_at_init"),
                "permanent group at init": f.worst("permanent_at_init"),
                "largest identical group": f.worst("largest_group_at_init"),
                "largest permanent group": f.worst("largest_permanent_at_init"),
                "one permanent group at the end": f.worst("whole_permanent_at_end"),
                "rank 1 at the end": f.worst("rank_one_at_end"),
                "last step": f.worst("last_step"),
            }
        )
    return Table.from_rows(rows)


def history_table(facts: Sequence[Facts]) -> Table:
    """Per condition, what became of its groups of identical units over the records, counted over
    (layer, seed): permanent groups that stay whole or split, and groups that are not permanent that
    separate at the first record after init, later, or never."""
    rows = []
    for f in facts:
        permanent, loose = f.permanent_groups, f.loose_groups
        splits = [h.split_step for h in permanent if h.split_step is not None]
        persist = [h for h in loose if h.at_end > 1]
        at_once = sum(h.separated_at_once for h in loose)
        rows.append(
            {
                "setting": f.setting,
                "init": f.name,
                "permanent groups at init": len(permanent),
                "stay whole to the last record": len(permanent) - len(splits),
                "split": len(splits),
                "first split by step": min(splits, default=math.nan),
                "non-permanent groups at init": len(loose),
                "separated at the first record": at_once,
                "separated later": len(loose) - at_once - len(persist),
                "identical to the last record": len(persist),
                "largest group at the last record": max((h.at_end for h in f.histories), default=math.nan),
            }
        )
    return Table.from_rows(rows)


def groups_table(facts: Sequence[Facts]) -> Table:
    """One row per (condition, seed, hidden layer) with identical units at init or at the last record:
    its group sizes and what happened to them."""
    return Table.from_rows(
        {
            "setting": f.setting,
            "init": f.name,
            "seed": h.seed,
            "layer": h.layer,
            "units": h.units,
            "largest group at init": h.grouped,
            "largest permanent group at init": h.permanent,
            "largest group at the end": h.at_end,
            "last step": h.last_step,
            "rank at the end": h.rank_at_end,
            "what happened": fate(h),
        }
        for f in facts
        for h in f.histories
        if h.grouped > 1 or h.at_end > 1
    )


def order_table(facts: Sequence[Facts]) -> Table:
    """Per condition, the latest first-gradient and first-change step over its weights (∞: some weight
    never had one), latest over seeds."""
    rows = []
    for f in facts:
        changes = [o.latest_change for o in f.order]
        rows.append(
            {
                "setting": f.setting,
                "init": f.name,
                "weights": len(f.layers.weights),
                "weights never given a gradient": f.never_grad,
                "latest first-gradient step": f.latest_grad,
                "latest first-change step": (math.inf if None in changes else max(changes))
                if changes
                else math.nan,
            }
        )
    return Table.from_rows(rows)


def first_gradient_table(store: Store, facts: Sequence[Facts]) -> Table:
    """Per weight tensor, its first non-zero-gradient step (max over seeds; ∞: never) under each init
    (``facts``: the conditions of one setting)."""
    columns: dict[str, dict[str, float]] = {}
    for f in facts:
        runs = f.condition.with_status("finished", "diverged")
        per_run = [first_steps(store, r, "first_grad_step") for r in runs]
        columns[f.name] = {
            w: max((steps.get(w, math.inf) for steps in per_run), default=math.nan) for w in f.layers.weights
        }
    weights = list(dict.fromkeys(w for col in columns.values() for w in col))
    return Table.from_rows(
        {"weight": w, **{name: col.get(w, math.nan) for name, col in columns.items()}} for w in weights
    )
