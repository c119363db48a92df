"""A sweep over your own model: two inits × two seeds of ``examples.my_models:SmallResNet`` in two
worker processes, recorded in a store, then read back.

    python examples/sweep_own_model.py results/own-model.db

The model is named by its import path; each worker imports ``examples.my_models`` itself (workers
start with this process's ``sys.path`` and current directory), and the store keeps the path, the
resolved params and the hash of the module's source with every run. Rerunning resumes: finished runs
are not trained again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from initlab.store import Store
from initlab.sweep import SweepSummary, expand, make_spec, run_sweep

SPEC = {
    "name": "own-model",
    "base": {
        "dataset": "digits",
        "model": "examples.my_models:SmallResNet",
        "model_params": {"width": 8, "blocks": 2},
        "epochs": 8,
        "lr": 0.01,
    },
    "axes": {"init": ["pytorch-default", "zero-last-layer"], "seed": "0..1"},
}


def main(store: str | Path, workers: int = 2) -> tuple[SweepSummary, dict[str, float]]:
    """Run the sweep into ``store``; return its summary and each run's final test accuracy by label."""
    spec = make_spec(SPEC)
    summary = run_sweep(expand(spec), store, name=spec.name, spec=SPEC, workers=workers, threads=1)
    with Store(store, create=False) as db:
        accuracy = {
            f"{r.config['init']}/s{r.seed}": r.summary["test_accuracy"] for r in db.runs(sweep=spec.name)
        }
    return summary, accuracy


if __name__ == "__main__":
    summary, accuracy = main(sys.argv[1] if len(sys.argv) > 1 else "results/own-model.db")
    print(summary.line())
    for label, value in accuracy.items():
        print(f"  {label}: test accuracy {value:.3f}")
