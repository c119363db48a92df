"""Sample quality without a download: the Fréchet distance between classifier features of real and
generated images, with a classifier that initlab trains itself.

The Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017, arXiv
1706.08500, the FID's formula, here with initlab's own classifier instead of Inception):

    FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^½),

with Tr((Σ_a Σ_b)^½) computed as Σ √λ_k of the symmetric matrix Σ_a^½ Σ_b Σ_a^½ (the same eigenvalues,
and no complex round-off). The features are the inputs of the classifier's head (resnet-cifar's
pooled 4·width channels).

**The classifier** of a dataset is an ordinary initlab run (:func:`classifier_config`: resnet-8 with
BatchNorm, Adam) whose trained weights are kept at ``<cache>/feature-classifiers/<dataset>-<key>.pt``
(``<cache>``: ``$INITLAB_DATA``, else ``~/.cache/initlab``; ``<key>`` its run key), with its test
accuracy. It is trained once per machine by :func:`initlab.train.features.ensure_feature_classifier`
(``prepare_run`` calls it for a run whose task needs it); here it is only loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.data.files import cache_dir
from initlab.errors import ConfigError
from initlab.models import build_model, require_head

#: Epochs of the classifier per dataset (the rest: 3 over the whole training split).
CLASSIFIER_EPOCHS = {"digits": 20}


def classifier_config(dataset: str, dataset_params: dict[str, Any] | None = None) -> RunConfig:
    """The run that trains ``dataset``'s feature classifier: resnet-8 (width 16, BatchNorm, option B
    shortcuts), Adam 1e-3, batch 128, seed 0, on the CPU unless a GPU is there."""
    return RunConfig(
        dataset=dataset,
        dataset_params=dataset_params or {},
        model="resnet-cifar",
        model_params={"depth": 8, "width": 16, "shortcut": "conv"},
        init="pytorch-default",
        optimizer="adam",
        lr=1e-3,
        batch_size=128,
        epochs=CLASSIFIER_EPOCHS.get(dataset, 3),
        seed=0,
    )


def classifier_path(config: RunConfig) -> Path:
    """Where the classifier of ``config`` (a :func:`classifier_config`) is kept."""
    return cache_dir() / "feature-classifiers" / f"{config.dataset}-{config.key()}.pt"


@dataclass
class FeatureClassifier:
    """A trained classifier, its test accuracy, and the run key that trained it."""

    model: nn.Module
    test_accuracy: float
    key: str

    @torch.inference_mode()
    def features(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """The inputs of the head on images ``x`` in [0, 1] (N × features, float64)."""
        head = require_head(self.model, "fréchet features")
        self.model.to(x.device).eval()
        found: list[torch.Tensor] = []
        hook = head.register_forward_pre_hook(lambda module, args: found.append(args[0].flatten(1)))
        try:
            for start in range(0, len(x), batch_size):
                self.model(x[start : start + batch_size])
        finally:
            hook.remove()
        return torch.cat(found).double()


def load_classifier(dataset: str, dataset_params: dict[str, Any] | None = None) -> FeatureClassifier:
    """``dataset``'s feature classifier from the cache; refused, saying how to train it, when absent."""
    config = classifier_config(dataset, dataset_params)
    path = classifier_path(config)
    if not path.is_file():
        raise ConfigError(
            f"the feature classifier of {dataset!r} is not trained yet (expected at {str(path)!r}); "
            "initlab trains it before any denoising run that samples (initlab run, initlab study run)"
        )
    saved = torch.load(path, map_location="cpu", weights_only=True)
    test = load_dataset(dataset, "test", **config.dataset_params)
    model = build_model(
        config.model, input_shape=test.input_shape, num_classes=test.num_classes, **config.model_params
    )
    model.load_state_dict(saved["state_dict"])
    return FeatureClassifier(model, float(saved["test_accuracy"]), config.key())


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to the rows of ``a`` and ``b`` (module docstring)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    root_a = psd_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T
