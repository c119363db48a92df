"""The run's task: chosen from the model or the dataset; classification batches and metrics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.config import RunConfig
from initlab.data import Dataset
from initlab.errors import ConfigError
from initlab.tasks import Classify, task_for


def _data(n: int = 10) -> Dataset:
    return Dataset(
        "toy", "train", torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1), torch.arange(n) % 3, 3
    )


def test_classification_is_the_default_and_an_unknown_task_is_named() -> None:
    config = RunConfig()
    assert isinstance(task_for(config, nn.Linear(1, 3), _data()), Classify)
    model = nn.Linear(1, 3)
    model.initlab_task = "no-such-task"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"task 'no-such-task'.*known: .*classify"):
        task_for(config, model, _data())


def test_an_epoch_of_classification_batches_is_one_permutation_of_the_data() -> None:
    task, data = Classify(RunConfig()), _data(10)
    batches = task.batches(data, 4, torch.Generator().manual_seed(0))
    assert [len(y) for _, y in batches] == [4, 4, 2] and task.steps_per_epoch(10, 4) == 3
    seen = torch.cat([x.flatten() for x, _ in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert all(torch.equal(y, x.flatten().long() % 3) for x, y in batches)  # pairs stay together


def test_batch_sums_count_correct_predictions_per_model() -> None:
    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])  # 2 models × 2 samples
    targets = torch.tensor([[0, 1], [0, 0]])
    assert Classify(RunConfig()).batch_sums(logits, targets)["accuracy"].tolist() == [2, 0]
