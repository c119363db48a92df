"""Sweep scaling: the same 8 runs with 1 local worker and with 2, on this machine.

Run: ``.venv/bin/python benchmarks/sweep_scaling.py [--runs 8] [--case small|mnist|all]``. The sweeps
run from this one process, one after the other, each into a fresh store. The wall time includes
everything a user waits for: starting the worker processes (each imports torch), loading the data in
each worker, training, and writing the store. A worker runs torch with cores / workers threads: one
worker gets all the cores, two get half each. The median time of one run (from the store) shows
what the second torch thread buys one run.

Two cases. *small*: an MLP on synthetic blobs, whose steps are too small for a second thread to help,
the runs a sweep over seeds, inits and learning rates is made of; here two processes should come
close to twice the throughput (the target on 2 cores: >= 1.8×). *mnist*: the seed study's MNIST FNN,
whose 784×500 products a second thread already speeds up, so two workers gain less.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from initlab.store import Store
from initlab.sweep import expand, load_sweep, run_sweep
from initlab.sweep.local import available_cores, threads_per_worker

CASES = {
    "small": {
        "dataset": "synthetic-blobs",
        "dataset_params": {"n": 20000},
        "model": "mlp",
        "model_params": {"depth": 3, "width": 128},
        "batch_size": 64,
        "epochs": 20,
    },
    "mnist": {"dataset": "mnist", "model": "mnist-fnn", "train_size": 12000, "val_size": 1000, "epochs": 3},
}


def time_sweep(base: dict, runs: int, workers: int) -> tuple[float, float]:
    """Wall seconds of a sweep of ``runs`` seeds on ``workers`` workers, and the median run's seconds."""
    configs = expand(load_sweep(name="scaling", base=base, axes={"seed": list(range(runs))}))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_sweep(configs, Path(tmp) / "r.db", workers=workers)
        seconds = time.perf_counter() - start
        with Store(Path(tmp) / "r.db") as store:
            per_run = statistics.median(r.seconds for r in store.runs())
    assert summary.finished == runs, summary.line()
    return seconds, per_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=8, help="runs in the sweep (seeds of one config)")
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    args = parser.parse_args()
    print(f"{available_cores()} cores, {args.runs} runs per sweep")
    for name, base in CASES.items():
        if args.case not in (name, "all"):
            continue
        seconds = {}
        for workers in (1, 2):
            seconds[workers], per_run = time_sweep(base, args.runs, workers)
            print(
                f"{name:<6} {workers} worker(s) × {threads_per_worker(workers)} torch thread(s): "
                f"{seconds[workers]:6.1f} s  (one run {per_run:.2f} s, median)"
            )
        print(f"{name:<6} speedup 2 workers vs 1: {seconds[1] / seconds[2]:.2f}×")


if __name__ == "__main__":
    main()
