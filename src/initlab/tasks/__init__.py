"""What a run learns from its data: the task (classification, a language model; a denoiser).

A :class:`Task` says how one epoch's training batches are drawn from the data, how a model is called
on a batch, the loss, the per-batch quantities summed into the epoch's training metrics, and how a
split is evaluated. The loop, ``prepare_run`` and the probe session ask the run's task instead of
assuming class labels, so a new task is one class registered in ``TASKS``.
"""

from initlab.tasks.base import TASKS, Batch, Task, register_task, task_for
from initlab.tasks.classify import Classify, cross_entropy
from initlab.tasks.denoise import Denoise
from initlab.tasks.language_model import LanguageModel

__all__ = [
    "TASKS",
    "Batch",
    "Classify",
    "Denoise",
    "LanguageModel",
    "Task",
    "cross_entropy",
    "register_task",
    "task_for",
]
