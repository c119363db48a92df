"""A run's data when its dataset is a token corpus: the corpus's own train, val and test splits.

A corpus is split by document (``shakespeare-char``: by play), so nothing is carved from its training
split: the image options that would (``val_size``, ``train_size``) or that mean nothing for token ids
(``normalize``, ``augment``) are refused with a ConfigError naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from initlab.config import RunConfig
from initlab.data import TokenCorpus
from initlab.errors import ConfigError

IMAGE_OPTIONS = {
    "val_size": "its validation split is the corpus's own held-out text",
    "train_size": "it trains on the corpus's whole training split",
    "normalize": "its inputs are token ids",
    "augment": "its inputs are token ids",
}


@dataclass(frozen=True)
class CorpusSplits:
    """A corpus run's data: the train, val and test :class:`TokenCorpus` splits (on CPU until placed).

    It answers what an engine asks of :class:`~initlab.train.setup.Splits`: ``full`` (the training
    split: the model's input shape and vocabulary), ``train_size``, ``init_inputs`` and ``on``.
    """

    train: TokenCorpus
    val: TokenCorpus
    test: TokenCorpus
    stats: None = None

    @property
    def full(self) -> TokenCorpus:
        return self.train

    @property
    def train_size(self) -> int:
        """Windows in one training epoch (see :class:`TokenCorpus`)."""
        return len(self.train)

    def init_inputs(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``count`` training windows' inputs (count×context token ids) at starts drawn from ``generator``."""
        return self.train.windows(self.train.random_starts(count, generator))[0]

    def on(self, device: torch.device, memory_format: torch.memory_format) -> tuple[TokenCorpus, ...]:
        """The train, val and test splits on ``device`` (token ids have no memory format)."""
        return tuple(split.to(device) for split in (self.train, self.val, self.test))


def corpus_splits(config: RunConfig, corpora: tuple[TokenCorpus, ...]) -> CorpusSplits:
    """The splits of a corpus run from the dataset's (train, val, test); ConfigError for an image-only
    option the config sets."""
    for option, why in IMAGE_OPTIONS.items():
        value = getattr(config, option)
        if value not in (None, False, "none"):
            raise ConfigError(
                f"{option}={value!r} does not apply to dataset {config.dataset!r} ({why}); leave it unset"
            )
    return CorpusSplits(*corpora)
