"""The small run the sweep and batched-engine tests share, and callbacks that break chosen runs of a
sweep, importable by its worker processes (tests/ is on their path): a run that raises mid-training,
and a worker process killed mid-run."""

from __future__ import annotations

import os
import signal

from initlab.train import Callback, TrainContext

#: A seconds-long run: 2 epochs of a 3-layer MLP on 600 Gaussian-blob points.
BLOBS = {
    "dataset": "synthetic-blobs",
    "dataset_params": {"n": 600},
    "model": "mlp",
    "model_params": {"depth": 3, "width": 32},
    "epochs": 2,
    "batch_size": 32,
}


class RaiseAtStep(Callback):
    """Raise a RuntimeError at ``step`` of the runs with seed ``seed``."""

    def __init__(self, seed: int, step: int):
        self.seed, self.step = seed, step

    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.config.seed == self.seed and ctx.step == self.step:
            raise RuntimeError(f"injected failure at step {self.step}")


class KillAtStep(Callback):
    """SIGKILL the process running the run with seed ``seed`` at ``step`` (a dying worker)."""

    def __init__(self, seed: int, step: int):
        self.seed, self.step = seed, step

    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.config.seed == self.seed and ctx.step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
