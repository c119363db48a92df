"""Classification: cross-entropy on class labels, accuracy as the metric."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from initlab.data import Dataset
from initlab.tasks.base import Batch, Task, register_task


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the batch: a scalar for B×classes logits; for S×B×classes logits (S
    models at once, each on its own batch) one mean per model, shape S."""
    if logits.dim() == 2:
        return F.cross_entropy(logits, targets)
    per_sample = F.cross_entropy(logits.flatten(0, -2), targets.flatten(), reduction="none")
    return per_sample.view(targets.shape).mean(-1)


def epoch_batches(
    size: int, batch_size: int, shuffle: torch.Generator, device: torch.device
) -> list[torch.Tensor]:
    """One epoch's batches of sample indices (on ``device``): a fresh permutation of ``range(size)``
    drawn from the run's ``shuffle`` generator, cut into ``batch_size`` slices."""
    return list(torch.randperm(size, generator=shuffle).to(device).split(batch_size))


@register_task
class Classify(Task):
    """Images (or any inputs) to class logits; every sample once per epoch, in a shuffled order."""

    name = "classify"

    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        return -(-size // batch_size)

    def batches(self, data: Dataset, batch_size: int, shuffle: torch.Generator) -> list[Batch]:
        return [(data.x[i], data.y[i]) for i in epoch_batches(len(data), batch_size, shuffle, data.y.device)]

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return cross_entropy(outputs, targets)

    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"accuracy": (outputs.argmax(-1) == targets).sum(-1)}

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, data: Dataset, batch_size: int) -> dict[str, float]:
        """Mean cross-entropy and accuracy of ``model`` on ``data``."""
        was_training = model.training
        model.eval()
        loss_sum = torch.zeros((), device=data.x.device)
        correct = torch.zeros((), device=data.x.device, dtype=torch.int64)
        for start in range(0, len(data), batch_size):
            x, y = data.x[start : start + batch_size], data.y[start : start + batch_size]
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        model.train(was_training)
        return {"loss": loss_sum.item() / len(data), "accuracy": correct.item() / len(data)}
