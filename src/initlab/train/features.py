"""The feature classifier of a dataset, trained once per machine (:mod:`initlab.tasks.frechet`)."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import torch

from initlab.tasks.frechet import classifier_config, classifier_path


def ensure_feature_classifier(
    dataset: str, dataset_params: dict[str, Any] | None = None, *, download: bool = False
) -> None:
    """Train ``dataset``'s feature classifier (an ordinary run of :func:`classifier_config`) unless it
    is in the cache; keep its weights and test accuracy there. The file is written whole and then
    renamed into place, so a concurrent reader never sees half of it."""
    from initlab.train.loop import train  # the loop's own setup imports this module

    config = classifier_config(dataset, dataset_params)
    path = classifier_path(config)
    if path.is_file():
        return
    print(
        f"training the feature classifier of {dataset!r} once ({config.model}, {config.epochs} epochs), "
        f"to keep at {path}",
        file=sys.stderr,
    )
    result = train(config.model_copy(update={"device": "auto"}))
    if result.status != "finished":
        raise RuntimeError(f"the feature classifier of {dataset!r} did not train: {result.reason}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    torch.save({"state_dict": state, "test_accuracy": result.test_accuracy, "key": config.key()}, tmp)
    os.replace(tmp, path)
    print(f"feature classifier of {dataset!r}: test accuracy {result.test_accuracy:.4f}", file=sys.stderr)
