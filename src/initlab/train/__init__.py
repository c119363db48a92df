"""Training: ``train(config) -> RunResult``, with callbacks for instruments and a sink for records."""

from initlab.train.callbacks import Callback, TrainContext
from initlab.train.loop import RunResult, Splits, build_initialized_model, evaluate, load_splits, train

__all__ = [
    "Callback",
    "RunResult",
    "Splits",
    "TrainContext",
    "build_initialized_model",
    "evaluate",
    "load_splits",
    "train",
]
