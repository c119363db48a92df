"""A token corpus held in memory: one split of a text as a 1-D stream of int64 token ids.

A language model reads it in windows of ``context + 1`` consecutive tokens: the first ``context`` are
the inputs, the last ``context`` (shifted by one) the next-token targets. Training draws window starts
uniformly from the run's shuffle generator; evaluation uses a fixed set of ``eval_starts``, drawn once
per split from a generator of a constant seed, so every run and seed is scored on the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import torch

EVAL_SEED = 20_231_130
"""Seed of the fixed evaluation windows (the same for every run; each split offsets it by its index)."""

SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class TokenCorpus:
    """One split of a tokenized text: ``tokens`` int64 ids in [0, len(vocab)), read in windows of
    ``context`` inputs; ``eval_starts`` the fixed window starts :meth:`windows` evaluates on.

    ``len()`` is the number of windows in one training epoch, ``len(tokens) // context``: an epoch
    draws as many random windows as there are non-overlapping ones, so it sees about as many tokens as
    the split holds (``tokens / (batch_size · context)`` steps).
    """

    task: ClassVar[str] = "language-model"
    """The :mod:`initlab.tasks` task a run on a corpus learns."""

    name: str
    split: str
    tokens: torch.Tensor
    vocab: str
    context: int
    eval_starts: torch.Tensor

    def __post_init__(self) -> None:
        if self.tokens.dtype != torch.int64 or self.tokens.dim() != 1:
            raise ValueError(
                f"tokens must be a 1-D int64 stream, got {self.tokens.dtype} {tuple(self.tokens.shape)}"
            )
        if len(self.tokens) <= self.context:
            raise ValueError(f"{self.name} ({self.split}): {len(self.tokens)} tokens, fewer than context+1")

    def __len__(self) -> int:
        return len(self.tokens) // self.context

    @property
    def input_shape(self) -> tuple[int]:
        """The model's input: ``(context,)`` token ids."""
        return (self.context,)

    @property
    def num_classes(self) -> int:
        """The vocabulary size: the number of next-token logits."""
        return len(self.vocab)

    @property
    def max_start(self) -> int:
        """The last index a window of ``context + 1`` tokens can start at."""
        return len(self.tokens) - self.context - 1

    def random_starts(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``count`` window starts uniform on [0, max_start], drawn on the CPU from ``generator``, on
        the tokens' device."""
        return torch.randint(0, self.max_start + 1, (count,), generator=generator).to(self.tokens.device)

    def windows(self, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets (both B×context) of the windows at ``starts``: ``tokens[s : s+context]``
        and ``tokens[s+1 : s+context+1]``, gathered by index on the tokens' device."""
        offsets = torch.arange(self.context + 1, device=self.tokens.device)
        window = self.tokens[starts[:, None] + offsets]
        return window[:, :-1], window[:, 1:]

    def decode(self, tokens: torch.Tensor) -> str:
        """The text of a 1-D tensor of token ids."""
        return "".join(self.vocab[i] for i in tokens.tolist())

    def to(self, device: torch.device | str) -> TokenCorpus:
        return replace(self, tokens=self.tokens.to(device), eval_starts=self.eval_starts.to(device))


def eval_starts(tokens: int, context: int, count: int, split: str) -> torch.Tensor:
    """``count`` fixed window starts in a split of ``tokens`` tokens: uniform on [0, tokens-context-1],
    from a CPU generator seeded with ``EVAL_SEED`` plus the split's index (never the run's seed)."""
    g = torch.Generator().manual_seed(EVAL_SEED + SPLIT_INDEX[split])
    return torch.randint(0, tokens - context, (count,), generator=g)
