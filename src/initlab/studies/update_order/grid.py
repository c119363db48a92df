"""The update-order study's grid: MLPs of depth 2–8 on digits, two optimizers, two activations, zero
weights with N(0, 1) biases against the default, with the probes on every run."""

from __future__ import annotations

from typing import Any

from initlab.studies.presets import ADAM_LR, BATCH_SIZE, Budget, Budgets, Preset, full, preset_sweep

ZERO = {"init": "zero-weight-random-bias", "init_params": {"dist": "normal", "scale": 1.0}}
DEFAULT = {"init": "pytorch-default"}
DEPTHS: str | list[int] = "2..8"
WIDTH = 32
OPTIMIZERS = {"sgd": 0.1, "adam": ADAM_LR}
ACTIVATIONS = ("tanh", "relu")
SETTINGS = [(o, a) for o in OPTIMIZERS for a in ACTIVATIONS]
"""The (optimizer, activation) settings, in the order the report shows them."""
#: Steps over which the rank growth is reported (the symmetry probe records steps 0..RANK_STEPS).
RANK_STEPS = 50
#: The largest rank of any weight matrix after RANK_STEPS SGD steps at REFERENCE_DEPTH, per activation:
#: what this study measured when it was written (torch 2.13, CPU). The rank stays this low because zero
#: weights make training degenerate (Zhao et al. 2021, "ZerO initialization", arXiv 2110.12661).
RANK_BOUNDS = {"tanh": 3, "relu": 1}
#: The depth whose rank growth the report shows and the rank claims check: a 5-layer width-32 MLP.
REFERENCE_DEPTH = 5
#: Quick: 8 epochs (72 steps of batch 128 on digits), 2 seeds; full: 20 epochs, 5 seeds.
BUDGETS: Budgets = {"quick": Budget(8, 2), "full": full(20)}
#: Steps between two records of the signal probe (after step 0), per preset.
SIGNAL_EVERY: dict[Preset, int] = {"quick": 10, "full": 30}


def probes(preset: Preset) -> dict[str, dict[str, Any]]:
    """The instruments on every run: first steps in full, the signal at init and every few steps."""
    return {
        "update-order": {"first": 12, "every": 0},
        "symmetry": {"first": RANK_STEPS + 1, "every": 0},
        "grad-dist": {"first": 12, "every": 0},
        "signal": {"first": 1, "every": SIGNAL_EVERY[preset]},
    }


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    base = {"dataset": "digits", "model": "mlp", "model_params": {"width": WIDTH}, "probes": probes(preset)}
    axes = {
        "optimizer": list(OPTIMIZERS),
        "lr": list(OPTIMIZERS.values()),
        "model_params.activation": list(ACTIVATIONS),
        "scheme": [ZERO, DEFAULT],
        "model_params.depth": DEPTHS,
    }
    training = {"batch_size": BATCH_SIZE}
    return [
        preset_sweep(
            "mlp-depths", BUDGETS[preset], base, axes, training=training, zip_axes=[("optimizer", "lr")]
        )
    ]


def mlp_layer_names(depth: int) -> list[str]:
    """The weight layers of initlab's depth-``depth`` MLP, input to head: fc1 … fc{L−1}, head."""
    return [f"fc{i}" for i in range(1, depth)] + ["head"]


def expected_steps(depth: int) -> list[int]:
    """Layer L−k first changes at step k: per weight layer, input to head, [L−1, …, 1, 0]."""
    return list(range(depth - 1, -1, -1))
