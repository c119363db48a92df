"""The update-order study's tables: first change steps, ranks after the first update and over the
first steps, dead ReLU units."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from initlab.report import Table
from initlab.studies.update_order.facts import RunFacts, first_updates, lowest_seed, steps_text, where
from initlab.studies.update_order.grid import (
    DEFAULT,
    RANK_STEPS,
    REFERENCE_DEPTH,
    SETTINGS,
    ZERO,
    expected_steps,
)
from initlab.studies.verdicts import interval_text


def order_table(facts: Sequence[RunFacts]) -> Table:
    rows = []
    for (optimizer, activation, depth, zero), rep in sorted(lowest_seed(facts).items()):
        runs = where(facts, optimizer=optimizer, activation=activation, depth=depth, zero=zero)
        expected = expected_steps(depth) if zero else [0] * depth
        rows.append(
            {
                "optimizer": optimizer,
                "activation": activation,
                "init": ZERO["init"] if zero else DEFAULT["init"],
                "depth": depth,
                "expected (input→head)": steps_text(expected),
                f"seed {rep.seed} (input→head)": steps_text(rep.first_change),
                "seeds as expected": f"{sum(f.first_change == expected for f in runs)}/{len(runs)}",
            }
        )
    return Table.from_rows(rows)


def rank_rows(facts: Sequence[RunFacts]) -> Table:
    rows = []
    for (optimizer, activation, depth, zero), rep in sorted(lowest_seed(facts).items()):
        if depth != REFERENCE_DEPTH or not zero:
            continue
        for layer in rep.layers:
            by_step = rep.rank.get(layer, {})
            rows.append(
                {
                    "optimizer": optimizer,
                    "activation": activation,
                    "seed": rep.seed,
                    "layer": layer,
                    f"rank at steps 0–{RANK_STEPS}": " ".join(
                        str(int(by_step[s])) if s in by_step else "·" for s in range(RANK_STEPS + 1)
                    ),
                    f"effective rank at {RANK_STEPS}": rep.effective_rank.get(layer, {}).get(RANK_STEPS),
                }
            )
    return Table.from_rows(rows)


def first_update_table(facts: Sequence[RunFacts]) -> Table:
    """Per (optimizer, activation): the ranks right after the first updates."""
    rows = []
    updates = first_updates(facts)
    for optimizer, activation in SETTINGS:
        mine = [u for u in updates if (u.facts.optimizer, u.facts.activation) == (optimizer, activation)]
        if not mine:
            continue
        rows.append(
            {
                "optimizer": optimizer,
                "activation": activation,
                "layers": len(mine),
                "rank 1": sum(u.rank == 1 for u in mine),
                "largest rank": max(u.rank for u in mine),
                "largest effective rank": max(u.effective_rank for u in mine),
                "subnormal or unrecorded updates": sum(not u.representable for u in mine),
            }
        )
    return Table.from_rows(rows)


def accuracy_table(facts: Sequence[RunFacts], metric: str = "test_accuracy") -> Table:
    """Final ``metric`` per (optimizer, activation, depth, init): seeds, mean, range and interval."""
    groups: dict[tuple[str, str, int, bool], list[float]] = {}
    for f in sorted(facts, key=lambda f: (SETTINGS.index(f.setting), f.depth, not f.zero, f.seed)):
        value = f.run.final(metric)
        if value is not None:
            groups.setdefault((f.optimizer, f.activation, f.depth, f.zero), []).append(value)
    return Table.from_rows(
        {
            "optimizer": optimizer,
            "activation": activation,
            "depth": depth,
            "init": ZERO["init"] if zero else DEFAULT["init"],
            "n": len(values),
            "mean": float(np.mean(values)),
            "min": min(values),
            "max": max(values),
            "95% CI": interval_text(values),
        }
        for (optimizer, activation, depth, zero), values in groups.items()
    )
