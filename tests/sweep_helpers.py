"""Callbacks that break chosen runs of a sweep, importable by its worker processes (tests/ is on their
path): a run that raises mid-training, and a worker process killed mid-run."""

from __future__ import annotations

import os
import signal

from initlab.train import Callback, TrainContext


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
