"""The learning-rate multiplier per step: warm-up, schedules and the first steps' boost."""

from __future__ import annotations

import math

import pytest

from initlab.config import make_config
from initlab.train.optim import lr_factor


def test_the_boost_multiplies_the_first_steps_only_on_top_of_the_schedule() -> None:
    config = make_config({"epochs": 2, "warmup_steps": 4, "boost_steps": 3, "boost": 10.0})
    factors = [lr_factor(config, step, steps_per_epoch=10) for step in range(6)]
    assert factors == pytest.approx([10 * 0.25, 10 * 0.5, 10 * 0.75, 1.0, 1.0, 1.0])
    cosine = make_config({"epochs": 1, "schedule": "cosine", "boost_steps": 2, "boost": 5.0})
    assert lr_factor(cosine, 1, 10) == pytest.approx(5 * 0.5 * (1 + math.cos(math.pi / 10)))
    assert lr_factor(cosine, 2, 10) == pytest.approx(0.5 * (1 + math.cos(2 * math.pi / 10)))
