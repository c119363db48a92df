"""Sweep scaling: the same 8 small runs with 1 local worker and with 2, on this machine.

Run: ``.venv/bin/python benchmarks/sweep_scaling.py [--runs 8] [--train-size 12000] [--epochs 2]``.
Both sweeps run in this one process, one after the other, each into a fresh store, so the ratio
holds even when the machine's speed drifts. The wall time includes everything a user waits for:
starting the worker processes (each imports torch), loading MNIST in each worker, training, and
writing the store. By default a worker runs torch with cores / workers threads: 1 worker gets all
the cores, 2 workers half each. The target on a 2-core machine is a speedup >= 1.8× of 2 workers
over 1. A third sweep, 1 worker with 1 thread, and the median time of one run (from the store) show
what a second torch thread buys a run of this size: little, and on a loaded machine less than
nothing, as two threads of one process wait for each other.
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
    for workers, threads in ((1, threads_per_worker(1)), (1, 1), (2, threads_per_worker(2))):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = run_sweep(configs, Path(tmp) / "r.db", workers=workers, threads=threads)
            seconds[workers, threads] = time.perf_counter() - start
            with Store(Path(tmp) / "r.db") as store:
                per_run = statistics.median(r.seconds for r in store.runs())
        assert summary.finished == len(configs), summary.line()
        print(
            f"{workers} worker(s) × {threads} torch thread(s): {seconds[workers, threads]:6.1f} s "
            f"({len(configs) / seconds[workers, threads] * 60:.1f} runs/min; one run {per_run:.2f} s, median)"
        )
    one, one_thread, two = seconds.values()
    print(f"speedup 2 workers vs 1 (default threads): {one / two:.2f}× (target >= 1.8× on 2 cores)")
    print(f"speedup 2 workers vs 1 worker with 1 thread: {one_thread / two:.2f}×")


if __name__ == "__main__":
    main()
