"""The run's generators (:mod:`initlab.seeding`, where tasks and probes below ``train`` take them
from too), under the name the training code has always used."""

from initlab.seeding import PURPOSES, derive_seed, generator

__all__ = ["PURPOSES", "derive_seed", "generator"]
