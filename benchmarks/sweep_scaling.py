"""Sweep scaling: the same 8 small runs with 1 local worker and with 2, on this machine.

Run: ``.venv/bin/python benchmarks/sweep_scaling.py [--runs 8] [--train-size 12000] [--epochs 2]``.
Both sweeps run in this one process, one after the other, each into a fresh store, so the ratio
holds even when the machine's speed drifts. The wall time includes everything a user waits for:
starting the worker processes (each imports torch), loading MNIST in each worker, training, and
writing the store. With 1 worker torch uses all the cores; with 2 workers, half each
(``threads = cores / workers``). The target on a 2-core machine is a speedup >= 1.8×. The median
time of one run (from the store) shows what a second torch thread buys a run of this size: little,
and less on a loaded machine, where two threads of one process wait for each other.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=8, help="runs in the sweep (seeds of one config)")
    parser.add_argument("--train-size", type=int, default=12000, help="MNIST training images per run")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    spec = load_sweep(
        name="scaling",
        base={
            "dataset": "mnist",
            "model": "mnist-fnn",
            "train_size": args.train_size,
            "val_size": 1000,
            "epochs": args.epochs,
        },
        axes={"seed": list(range(args.runs))},
    )
    configs = expand(spec)
    cores = available_cores()
    print(
        f"{len(configs)} runs of {configs[0].label()} on {args.train_size} MNIST images, {args.epochs} epochs"
    )
    print(f"{cores} cores")
    seconds = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = run_sweep(configs, Path(tmp) / "r.db", workers=workers)
            seconds[workers] = time.perf_counter() - start
            with Store(Path(tmp) / "r.db") as store:
                per_run = statistics.median(r.seconds for r in store.runs())
        assert summary.finished == len(configs), summary.line()
        print(
            f"{workers} worker(s) × {threads_per_worker(workers)} torch thread(s): {seconds[workers]:6.1f} s "
            f"({len(configs) / seconds[workers] * 60:.1f} runs/min; one run {per_run:.2f} s, median)"
        )
    speedup = seconds[1] / seconds[2]
    print(f"speedup 2 workers vs 1: {speedup:.2f}× (target >= 1.8× on 2 cores)")


if __name__ == "__main__":
    main()
