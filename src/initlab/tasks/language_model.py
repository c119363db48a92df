"""Next-token prediction on a token corpus: cross-entropy in nats per token, and bits per character.

Training batches are windows at uniform random starts drawn from the run's shuffle generator
(:meth:`~initlab.data.TokenCorpus.random_starts`), ``len(corpus)`` windows an epoch. Evaluation scores
every position of the split's fixed ``eval_starts`` windows (the same windows for every run and seed),
so with characters as tokens ``loss`` is nats per character and ``bpc = loss / ln 2`` bits per
character (Graves 2013, "Generating Sequences with Recurrent Neural Networks", §3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


class WindowBatches(Sequence[Batch]):
    """Batches of the windows at ``starts``, ``batch_size`` a batch, each gathered when it is read
    (an epoch's windows are never all in memory)."""

    def __init__(self, data: TokenCorpus, starts: torch.Tensor, batch_size: int):
        self.data, self.chunks = data, starts.split(batch_size)

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, i: int) -> Batch:  # type: ignore[override]
        return self.data.windows(self.chunks[i])


@register_task
class LanguageModel(Task):
    """A causal language model on a :class:`~initlab.data.TokenCorpus`: token windows to next-token logits."""

    name = "language-model"

    def steps_per_epoch(self, size: int, batch_size: int) -> int:
        return -(-size // batch_size)

    def batches(self, data: TokenCorpus, batch_size: int, shuffle: torch.Generator) -> list[Batch]:  # type: ignore[override]
        return WindowBatches(data, data.random_starts(len(data), shuffle), batch_size)  # type: ignore[return-value]

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
