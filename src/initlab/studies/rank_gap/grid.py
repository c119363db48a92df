"""The rank-gap study's grid: the seed study's settings, the default against zero weights with N(0, 1)
biases, and the interventions that change how fast the zero-initialized layers gain rank.

Every run carries the ``symmetry`` probe (numerical and effective rank of every weight matrix on the
first steps and every ``rank_every`` steps, so that each epoch's last step is recorded) and the
``update-order`` probe (the first step each tensor changes). The training recipe (Adam 1e-3, batch
128) and the full budgets are the seed study's (:mod:`initlab.studies.presets`); the schemes are the
zero-symmetry study's (:data:`~initlab.studies.zero_symmetry.DEFAULT`, ``NORMAL``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from initlab.studies.presets import ADAM_LR, PRESETS, Budgets, Preset, full, preset_sweep, quick
from initlab.studies.update_order.grid import OPTIMIZERS
from initlab.studies.zero_symmetry import DEFAULT, NORMAL, cifar10_available

Arm = Mapping[str, Any]
"""Run-config fields that make one arm: an init and, for some interventions, the optimizer or the
first steps' learning rate."""

#: The seed study's optimizer and rate, written into every arm so that arms differ only where they say.
ADAM = {"optimizer": "adam", "lr": ADAM_LR}
SGD = {"optimizer": "sgd", "lr": OPTIMIZERS["sgd"]}
#: Steps and factor of the learning-rate boost intervention (RunConfig ``boost_steps``, ``boost``).
BOOST_STEPS, BOOST = 10, 10.0


def tiny_he(epsilon: float) -> dict[str, Any]:
    """ε·He-normal weights with N(0, 1) biases: W ~ N(0, 2ε²/fan_in) (``variance-scaling``, scale
    2ε², fan_in, normal; He et al. 2015 is ε = 1), the biases as ``NORMAL``'s."""
    params = {"scale": 2 * epsilon**2, "mode": "fan_in", "distribution": "normal"}
    return {"init": "variance-scaling", "init_params": {**params, "bias": "normal", "bias_scale": 1.0}}


def bias_scale(scale: float) -> dict[str, Any]:
    """Zero weights with N(0, scale²) biases."""
    return {**NORMAL, "init_params": {**NORMAL["init_params"], "scale": scale}}


#: The two arms of every setting.
BASE_ARMS: dict[str, Arm] = {"default": {**DEFAULT, **ADAM}, "zero": {**NORMAL, **ADAM}}


def intervention_arms(preset: Preset) -> dict[str, Arm]:
    """The interventions, each against the zero arm: ε·He weights (``he×1e-04``), the first steps'
    learning rate ×10 (``lr×10 10 steps``), SGD (``sgd zero`` against ``sgd default``), the bias scale
    (``bias 0.1``)."""
    epsilons = (1e-4, 1e-2) if preset == "quick" else (1e-4, 1e-3, 1e-2, 1e-1)
    scales = (0.1, 10.0)
    return {
        **{f"he×{eps:.0e}": {**tiny_he(eps), **ADAM} for eps in epsilons},
        f"lr×{BOOST:g} {BOOST_STEPS} steps": {
            **NORMAL,
            **ADAM,
            "boost_steps": BOOST_STEPS,
            "boost": BOOST,
        },
        "sgd zero": {**NORMAL, **SGD},
        "sgd default": {**DEFAULT, **SGD},
        **{f"bias {s:g}": {**bias_scale(s), **ADAM} for s in scales},
    }


#: The boost fields of a run without the boost (a config stored before they existed has neither).
UNBOOSTED = {"boost_steps": 0, "boost": 1.0}
#: Each arm's reference (else ``default``): the default trained the same way (SGD's arms against SGD's
#: default).
REFERENCE = {"sgd zero": "sgd default", "sgd default": "sgd default"}


@dataclass(frozen=True)
class Setting:
    """A (dataset, model) of the study: its budget, how often the rank is recorded, per preset, and
    whether the interventions run on it."""

    name: str
    dataset: str
    model: str
    budgets: Budgets
    rank_every: Mapping[Preset, int]
    """Steps between rank records; a divisor of the steps per epoch where the split sizes allow."""
    weight_layers: int
    interventions: bool = False
    presets: tuple[Preset, ...] = PRESETS
    """The presets that run this setting."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Further run-config fields (e.g. ``model_params``)."""

    def sweep(self, preset: Preset) -> dict[str, Any]:
        arms = {**BASE_ARMS, **(intervention_arms(preset) if self.interventions else {})}
        base = {"dataset": self.dataset, "model": self.model, "probes": self.probes(preset), **self.extra}
        return preset_sweep(self.name, self.budgets[preset], base, {"arm": list(arms.values())})

    def probes(self, preset: Preset) -> dict[str, dict[str, Any]]:
        """Ranks on the first L + 2 steps (each layer's first update, L weight layers) and every
        ``rank_every`` steps; first changes over the same first steps."""
        first = self.weight_layers + 2
        return {
            "symmetry": {"first": first, "every": self.rank_every[preset], "rank": True},
            "update-order": {"first": first, "every": 0},
        }


#: Quick: training subsets whose size is a multiple of the batch (whole epochs of 80 and 48 steps) and a
#: 1,000-image validation split, the CIFAR CNN left out (about two minutes a run on one CPU core, most of
#: it evaluating 11,000 images per epoch); full: the seed study's epochs on the whole split, 5 seeds
#: (53,000 MNIST images: 415 steps per epoch, 5 × 83).
SETTINGS = (
    Setting(
        "mnist-fnn",
        "mnist",
        "mnist-fnn",
        {"quick": quick(3, 3, 10_240), "full": full(10)},
        {"quick": 8, "full": 83},
        2,
    ),
    Setting(
        "mnist-cnn",
        "mnist",
        "mnist-cnn",
        {"quick": quick(2, 2, 6_144), "full": full(15)},
        {"quick": 8, "full": 83},
        3,
        interventions=True,
    ),
    Setting(
        "fashion-fnn",
        "fashion-mnist",
        "mnist-fnn",
        {"quick": quick(3, 3, 10_240), "full": full(10)},
        {"quick": 8, "full": 83},
        2,
    ),
    Setting(
        "fashion-cifar-cnn",
        "fashion-mnist",
        "cifar-cnn",
        {"quick": quick(2, 2, 2_560), "full": full(20)},
        {"quick": 4, "full": 83},
        9,
        interventions=True,
        presets=("full",),
    ),
)
#: The seed study's CIFAR CNN on CIFAR-10 itself, in the full preset when the data is present
#: (43,000 training images: 336 steps per epoch).
CIFAR_SETTING = Setting(
    "cifar-cnn",
    "cifar10",
    "cifar-cnn",
    {"quick": quick(2, 2, 2_560), "full": full(20)},
    {"quick": 4, "full": 42},
    9,
)


def settings(preset: Preset) -> tuple[Setting, ...]:
    cifar = (CIFAR_SETTING,) if preset == "full" and cifar10_available() else ()
    return tuple(s for s in SETTINGS if preset in s.presets) + cifar


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    return [setting.sweep(preset) for setting in settings(preset)]


def arm_of(config: Mapping[str, Any], preset: Preset) -> str | None:
    """The name of the arm a stored run's config belongs to (None: none of this preset's)."""
    given = {**UNBOOSTED, **config}
    for name, arm in {**BASE_ARMS, **intervention_arms(preset)}.items():
        fields = {**UNBOOSTED, **arm}
        params = fields.pop("init_params", {})
        if all(given.get(k) == v for k, v in fields.items()) and all(
            given.get("init_params", {}).get(k) == v for k, v in params.items()
        ):
            return name
    return None


def setting_of(config: Mapping[str, Any], preset: Preset) -> Setting | None:
    """The setting a stored run's (dataset, model) belongs to."""
    for setting in settings(preset):
        if (setting.dataset, setting.model) == (config.get("dataset"), config.get("model")):
            return setting
    return None
