"""Next-token prediction on a token corpus: cross-entropy in nats per token, and bits per character.

Training batches are windows at uniform random starts drawn from the run's shuffle generator
(:meth:`~initlab.data.TokenCorpus.random_starts`), ``len(corpus)`` windows an epoch. Evaluation scores
every position of the split's fixed ``eval_starts`` windows (the same windows for every run and seed),
so with characters as tokens ``loss`` is nats per character and ``bpc = loss / ln 2`` bits per
character (Graves 2013, "Generating Sequences with Recurrent Neural Networks", §3).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from initlab.data import TokenCorpus
from initlab.tasks.base import Batch, Task, register_task


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of B×T×V next-token logits against B×T targets, over all B·T tokens."""
    return F.cross_entropy(logits.flatten(0, -2), targets.flatten(), reduction=reduction)


def bits(nats: float) -> float:
    """A loss in nats per token as bits per token: ``nats / ln 2``."""
    return nats / math.log(2)


@register_task
class LanguageModel(Task):
    """A causal language model on a :class:`~initlab.data.TokenCorpus`: token windows to next-token logits."""

    name = "language-model"

    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        return -(-size // batch_size)

    def batches(self, data: TokenCorpus, batch_size: int, shuffle: torch.Generator) -> list[Batch]:  # type: ignore[override]
        starts = data.random_starts(len(data), shuffle)
        return [data.windows(chunk) for chunk in starts.split(batch_size)]

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return token_cross_entropy(outputs, targets)

    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    def throughput(self, targets: int, seconds: float) -> dict[str, float]:
        """Training tokens per second (every target is one predicted token)."""
        return {"tokens_per_second": targets / seconds}

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, data: TokenCorpus, batch_size: int) -> dict[str, float]:  # type: ignore[override]
        """Mean next-token cross-entropy (nats) over every position of ``data``'s fixed eval windows,
        and the same in bits (``bpc``)."""
        was_training = model.training
        model.eval()
        loss_sum = torch.zeros((), device=data.tokens.device)
        for starts in data.eval_starts.split(batch_size):
            x, y = data.windows(starts)
            loss_sum += token_cross_entropy(self.forward(model, x), y, reduction="sum")
        model.train(was_training)
        loss = loss_sum.item() / (len(data.eval_starts) * data.context)
        return {"loss": loss, "bpc": bits(loss)}
