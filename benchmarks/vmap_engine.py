"""The batched engine (``--engine vmap``) against the same seeds trained one after another.

Run: ``.venv/bin/python benchmarks/vmap_engine.py [--seeds 8] [--threads 1] [--device cpu|cuda]
[--case mnist-cnn-6k]``.
For each case, the S seeds of one config are trained by ``train_batched`` (one vmapped model) and by
S ``train()`` calls, alternately, in this one process with the same torch threads (default 1, a sweep
worker's share of a 2-core machine); the best of the repeats counts, so a burst of load from other
processes does not decide the ratio.
Both produce the same records (tests/train/test_batched.py checks them against each other). A small
model is dominated by per-step overhead, which batching amortizes; a larger one by its matrix
products, which on a CPU already use the cores, so batching gains less there; a conv net's vmapped
convolutions become grouped ones, which oneDNN runs slower than S plain ones. On a GPU, S small models
fill the device where one does not.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.train import train
from initlab.train.batched import train_batched

CASES = {
    "digits-mlp-64": {
        "dataset": "digits",
        "model": "mlp",
        "model_params": {"depth": 3, "width": 64},
        "batch_size": 64,
        "epochs": 20,
    },
    "mnist-fnn-6k": {
        "dataset": "mnist",
        "model": "mnist-fnn",
        "train_size": 6000,
        "val_size": 1000,
        "epochs": 1,
    },
    "mnist-cnn-6k": {
        "dataset": "mnist",
        "model": "mnist-cnn",
        "train_size": 6000,
        "val_size": 1000,
        "epochs": 1,
    },
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a sweep worker's share)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating timings; the best counts")
    parser.add_argument("--case", action="append", choices=list(CASES), help="only these cases")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.seeds} seeds per case, device {args.device}, {torch.get_num_threads()} torch thread(s)")
    for name in args.case or CASES:
        fields = CASES[name]
        configs = [RunConfig(**fields, device=args.device, seed=s) for s in range(args.seeds)]
        for split in ("train", "test"):  # load (and memoize) the data outside the timings
            load_dataset(configs[0].dataset, split)
        train(configs[0].model_copy(update={"epochs": 1}))  # warm up
        sequential, batched = [], []
        for _ in range(args.repeats):  # alternate, so that a burst of load hits both
            sequential.append(timed(lambda configs=configs: [train(c) for c in configs]))
            batched.append(timed(lambda configs=configs: train_batched(configs)))
        print(
            f"{name:<14} sequential {min(sequential):6.2f} s   batched {min(batched):6.2f} s   "
            f"speedup {min(sequential) / min(batched):.2f}× (best of {args.repeats})"
        )


if __name__ == "__main__":
    main()
