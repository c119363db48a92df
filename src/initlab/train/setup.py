"""One run's setup, built the same way for every engine: ``prepare_run(config) -> RunSetup``.

Everything a run is before its first step comes from here: the resolved config it records, its data
splits (the seeded validation split, ``train_size``, the standardization of ``normalize``), its model
(registered or the caller's own) with the init scheme applied (a data-dependent scheme on a batch of
the run's own training inputs), its optimizer and learning-rate schedule, its batch order. The loop,
the batched engine and ``initlab inspect`` all start from a ``RunSetup``, so none of them can run a
config differently; an engine that cannot honour a config refuses it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.data import Dataset, TokenCorpus, dataset_splits, default_val_size, load_dataset
from initlab.data.dataset import split_indices
from initlab.models import build_model
from initlab.schemes import apply_init, takes_data
from initlab.tasks import Batch, Task, task_for
from initlab.train.augment import channel_stats
from initlab.train.corpus_splits import CorpusSplits, corpus_splits
from initlab.train.device import resolve_device, uses_channels_last
from initlab.train.features import ensure_feature_classifier
from initlab.train.optim import make_optimizer, make_scheduler
from initlab.train.resolve import resolve_config
from initlab.train.seeding import derive_seed, generator


@dataclass(frozen=True)
class Splits:
    """A run's data: the dataset's training set ``full``, the run's train and validation indices into
    it, the test set, and, when the run normalizes, the per-channel mean and std of its train split.

    ``train``, ``val`` and ``test`` are the split datasets with the standardization applied, built on
    first use; an engine that indexes ``full`` itself (the batched one) never copies them.
    """

    full: Dataset
    raw_test: Dataset
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    stats: tuple[torch.Tensor, torch.Tensor] | None = None

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs as the run sees them: ``(x − mean) / std`` when it normalizes, else ``x``."""
        if self.stats is None:
            return x
        mean, std = (s.to(x.device) for s in self.stats)
        return (x - mean) / std

    def _standardized(self, data: Dataset) -> Dataset:
        return data if self.stats is None else replace(data, x=self.inputs(data.x))

    @cached_property
    def train(self) -> Dataset:
        return self._standardized(self.full.subset(self.train_idx, "train"))

    @cached_property
    def val(self) -> Dataset:
        return self._standardized(self.full.subset(self.val_idx, "val"))

    @cached_property
    def test(self) -> Dataset:
        return self._standardized(self.raw_test)

    @property
    def train_size(self) -> int:
        """Samples in the run's training split."""
        return len(self.train_idx)

    def init_inputs(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``count`` of the run's training inputs drawn from ``generator`` (standardized if it normalizes)."""
        perm = torch.randperm(len(self.train_idx), generator=generator)
        return self.inputs(self.full.x[self.train_idx[perm[:count]]])

    def on(self, device: torch.device, memory_format: torch.memory_format) -> tuple[Dataset, ...]:
        """The train, val and test splits on ``device`` (images in ``memory_format``)."""
        return tuple(
            replace(d, x=d.x.to(device, memory_format=memory_format), y=d.y.to(device))
            for d in (self.train, self.val, self.test)
        )


RunData = Splits | CorpusSplits
"""A run's data: an image set's :class:`Splits`, or a token corpus's :class:`CorpusSplits`."""


def load_splits(
    config: RunConfig, *, download: bool = False, datasets: tuple[Dataset, ...] | None = None
) -> RunData:
    """The run's data (on CPU): the training set minus a seeded validation split, and the test set;
    for a token corpus, its own train, val and test splits (:mod:`initlab.train.corpus_splits`).

    ``datasets`` are the dataset's splits (:func:`load_datasets`) when already loaded (runs that
    share them load them once); else they are loaded, ``download`` allowing a fetch of the official files.
    """
    sets = datasets if datasets is not None else load_datasets(config, download=download)
    if isinstance(sets[0], TokenCorpus):
        return corpus_splits(config, sets)
    full, test = sets
    train_idx, val_idx = run_split_indices(config, full)
    stats = channel_stats(full.subset(train_idx)) if config.normalize else None
    return Splits(full, test, train_idx, val_idx, stats)


def load_datasets(config: RunConfig, *, download: bool = False) -> tuple[Dataset, ...]:
    """The config's dataset: its (train, test) sets, or a corpus's (train, val, test), on CPU."""
    return tuple(
        load_dataset(config.dataset, split, download=download, **config.dataset_params)
        for split in dataset_splits(config.dataset)
    )


def run_split_indices(config: RunConfig, full: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices into ``full`` (the dataset's training split) of the run's train and validation samples.

    The validation split is drawn with the run's ``split`` generator; ``train_size`` keeps the first
    samples of the rest.
    """
    val_size = config.val_size
    if val_size is None:
        val_size = default_val_size(config.dataset, **config.dataset_params)
    seed = derive_seed(config.seed, "split")
    return split_indices(len(full), val_size, seed, full.name, train_size=config.train_size)


def init_batch(config: RunConfig, splits: RunData) -> torch.Tensor | None:
    """For a data-dependent scheme, ``batch_size`` of the run's training inputs drawn with its seed
    (standardized when it normalizes; a corpus's: token windows); else None."""
    if not takes_data(config.init):
        return None
    return splits.init_inputs(config.batch_size, generator(config.seed, "init-data"))


def build_initialized_model(
    config: RunConfig, input_shape: Sequence[int], num_classes: int, data: torch.Tensor | None = None
) -> nn.Module:
    """The config's registered model with its init scheme applied from the run's init generator.

    The model is built with torch's global generator seeded from the run's seed (stream ``build``;
    the caller's state is restored), so what a scheme leaves as PyTorch's constructors drew it (token
    and position embeddings under ``xavier-uniform``) is the run's own as well, whatever ran before
    in the process. ``data`` is the batch a data-dependent scheme (LSUV) initialises on.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(config.seed, "build"))
        model = build_model(
            config.model, input_shape=input_shape, num_classes=num_classes, **config.model_params
        )
    return initialize(config, model, data)


def initialize(config: RunConfig, model: nn.Module, data: torch.Tensor | None = None) -> nn.Module:
    """Apply the config's init scheme to ``model`` in place, from the run's init generator (a
    data-dependent scheme on ``data``, moved to the model's device)."""
    where = next(model.parameters(), torch.empty(0)).device
    extra = {"data": data.to(where)} if data is not None else {}
    return apply_init(model, config.init, generator(config.seed, "init"), **config.init_params, **extra)


def module_record(model: nn.Module) -> dict[str, Any]:
    """What a caller's module is, for the recorded config: ``model`` is its class as
    ``module:qualname``; ``model_params`` hold its parameter count and a hash of its printed
    structure (layers and their sizes), so that two different modules never share a run key."""
    cls = type(model)
    structure = hashlib.sha256(repr(model).encode()).hexdigest()[:16]
    parameters = sum(p.numel() for p in model.parameters())
    return {
        "model": f"{cls.__module__}:{cls.__qualname__}",
        "model_params": {"structure": structure, "parameters": parameters},
    }


class Placed(NamedTuple):
    """A run's model and split datasets on its device."""

    model: nn.Module
    train: Dataset
    val: Dataset
    test: Dataset


@dataclass
class RunSetup:
    """Everything a run is before its first step. Build it with :func:`prepare_run`."""

    config: RunConfig
    """The resolved config, as the run records it."""
    splits: RunData
    model: nn.Module
    """The initialized model (still where it was built: the CPU, or the caller's device)."""
    device: torch.device
    task: Task
    """What the run learns (:mod:`initlab.tasks`): how batches are drawn, the loss, the metrics."""

    @property
    def steps_per_epoch(self) -> int:
        return self.task.steps_per_epoch(self.splits.train_size, self.config.batch_size)

    def optimizer(
        self, params: Iterable[torch.Tensor]
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        """The config's optimizer over ``params`` and its per-step learning-rate schedule."""
        optimizer = make_optimizer(self.config, params)
        return optimizer, make_scheduler(self.config, optimizer, self.steps_per_epoch)

    @contextmanager
    def dropout_stream(self) -> Iterator[None]:
        """Inside: torch's global generator is the run's dropout stream (the caller's is restored)."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed(self.config.seed, "dropout"))
            yield

    def first_batches(self, data: Dataset, count: int) -> list[Batch]:
        """The run's first ``count`` training batches of ``data`` (its placed train split), in the
        loop's order: epoch after epoch of the task's batches from the run's shuffle generator."""
        shuffle, size = generator(self.config.seed, "shuffle"), self.config.batch_size
        epochs = (self.task.batches(data, size, shuffle) for _ in itertools.count())
        return list(itertools.islice(itertools.chain.from_iterable(epochs), count))

    def place(self) -> Placed:
        """The model and the split datasets on the run's device (conv nets in channels_last)."""
        fmt = torch.channels_last if uses_channels_last(self.model) else torch.contiguous_format
        model = self.model.to(device=self.device, memory_format=fmt)
        return Placed(model, *self.splits.on(self.device, fmt))


def prepare_run(
    config: RunConfig,
    *,
    model: nn.Module | None = None,
    splits: RunData | None = None,
    download: bool = False,
    evaluates: bool = True,
) -> RunSetup:
    """The setup of ``config``'s run: resolved config, splits, initialized model, device.

    ``model`` is a module the caller built, trained instead of the config's registered model: the
    config's init scheme is still applied to it, and the recorded config says what it is
    (:func:`module_record`). ``splits`` reuses data already loaded for this config. The feature
    classifiers the task's evaluation reads are trained first if missing, unless ``evaluates`` is
    False (a caller that never evaluates, such as ``initlab inspect``).
    Bad input (unknown names, missing data, a model that does not fit) raises here, before any record.
    """
    if model is not None:
        config = config.model_copy(update=module_record(model))
    config = resolve_config(config, registered_model=model is None)
    device = resolve_device(config.device)
    splits = splits if splits is not None else load_splits(config, download=download)
    data = init_batch(config, splits)
    if model is None:
        model = build_initialized_model(config, splits.full.input_shape, splits.full.num_classes, data)
    else:
        initialize(config, model, data)
    task = task_for(config, model, splits.full)
    for dataset in task.classifiers() if evaluates else []:
        ensure_feature_classifier(dataset, config.dataset_params, download=download)
    return RunSetup(config, splits, model, device, task)
