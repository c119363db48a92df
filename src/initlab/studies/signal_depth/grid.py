"""The signal-depth study's grid: MLPs of depth 10–100 on MNIST, tanh and ReLU, five inits, SGD with
momentum, the ``signal`` probe (with quantiles) at init."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from initlab.studies.presets import BATCH_SIZE, Budget, Preset, preset_sweep

ACTIVATIONS = ("relu", "tanh")
GAINS = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0}
INITS = ("pytorch-default", "lecun-normal", "xavier-normal", "he-normal", "orthogonal")
#: A run fails when its final test accuracy is below the majority-class accuracy plus this.
FAIL_MARGIN = 0.05
#: The depth of the signal claims: 50 layers, deep enough that a per-layer factor of ½ (ReLU with
#: LeCun or Xavier) leaves 2⁻⁴⁹ of E[a²], where He init keeps it (He et al. 2015, arXiv 1502.01852).
CLAIM_DEPTH = 50
#: The input signal "survives" above this ratio (last hidden layer over the first) and "vanishes" below
#: VANISHES; the plain std of pytorch-default "stays up" above SURVIVES too.
SURVIVES = 1e-2
VANISHES = 1e-4
#: The optimizer of every run: SGD with momentum.
TRAINING = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "batch_size": BATCH_SIZE}
VAL_SIZE = 2000


@dataclass(frozen=True)
class PresetSettings:
    """A preset's MLP width, depths and budget."""

    width: int
    depths: tuple[int, ...]
    budget: Budget


PRESET_SETTINGS: dict[Preset, PresetSettings] = {
    "quick": PresetSettings(128, (10, 20, 50), Budget(3, 2, 3000, VAL_SIZE)),
    "full": PresetSettings(256, (10, 20, 50, 100), Budget(5, 3, 10_000, VAL_SIZE)),
}


def schemes(activation: str) -> list[dict[str, Any]]:
    """The five inits, He and orthogonal with ``activation``'s gain."""
    params = {"he-normal": {"nonlinearity": activation}, "orthogonal": {"gain": GAINS[activation]}}
    return [{"init": name, "init_params": params.get(name, {})} for name in INITS]


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    settings = PRESET_SETTINGS[preset]
    return [
        preset_sweep(
            activation,
            settings.budget,
            {
                "dataset": "mnist",
                "model": "mlp",
                "model_params": {"width": settings.width, "activation": activation},
                "probes": {"signal": {"first": 1, "every": 0, "quantiles": True}},
            },
            {"scheme": schemes(activation), "model_params.depth": list(settings.depths)},
            training=TRAINING,
        )
        for activation in ACTIVATIONS
    ]
