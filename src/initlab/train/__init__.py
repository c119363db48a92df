"""Training: ``train(config) -> RunResult``, with callbacks for instruments and a sink for records.

Every engine starts from one setup, ``prepare_run(config) -> RunSetup`` (resolved config, splits,
initialized model, optimizer and schedule), and takes its steps with one step function
(:func:`initlab.step.train_step`).
"""

from initlab.callbacks import Callback, TrainContext
from initlab.train.loop import RunResult, train
from initlab.train.resolve import resolve_config
from initlab.train.setup import RunSetup, Splits, build_initialized_model, load_splits, prepare_run

__all__ = [
    "Callback",
    "RunResult",
    "RunSetup",
    "Splits",
    "TrainContext",
    "build_initialized_model",
    "load_splits",
    "prepare_run",
    "resolve_config",
    "train",
]
