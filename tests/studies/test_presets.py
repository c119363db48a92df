"""Presets to sweeps: the shared training recipe and budgets give the sweep tables studies run."""

from __future__ import annotations

from initlab.studies.presets import QUICK_VAL_SIZE, SEED_STUDY_TRAINING, Budget, full, preset_sweep, quick
from initlab.sweep import expand, make_spec


def test_a_quick_sweep_has_the_recipe_the_subset_and_the_seeds() -> None:
    spec = preset_sweep("fnn", quick(3, 2, 5_000), {"dataset": "digits", "model": "mlp"}, {"init": ["zeros"]})
    assert spec["base"] == {
        **SEED_STUDY_TRAINING,
        "epochs": 3,
        "train_size": 5_000,
        "val_size": QUICK_VAL_SIZE,
        "dataset": "digits",
        "model": "mlp",
    }
    configs = expand(make_spec(spec))
    assert [c.seed for c in configs] == [0, 1]
    assert {(c.optimizer, c.lr, c.batch_size, c.train_size) for c in configs} == {("adam", 1e-3, 128, 5_000)}


def test_full_keeps_the_default_split_and_base_fields_win_over_the_recipe() -> None:
    assert full(10) == Budget(10, 5) and full(10).fields() == {"epochs": 10}
    spec = preset_sweep(
        "sgd",
        full(2, seeds=1),
        {"dataset": "digits", "model": "mlp", "lr": 0.1},
        {"optimizer": ["sgd", "adam"], "lr": [0.1, 1e-3]},
        training={"batch_size": 64},
        zip_axes=[("optimizer", "lr")],
    )
    assert spec["zip"] == [["optimizer", "lr"]] and spec["base"]["lr"] == 0.1
    configs = expand(make_spec(spec))
    assert [(c.optimizer, c.lr, c.batch_size, c.val_size) for c in configs] == [
        ("sgd", 0.1, 64, None),
        ("adam", 1e-3, 64, None),
    ]
