"""Runs read back from the store and grouped into conditions with readable labels."""

from __future__ import annotations

from dataclasses import replace

import pytest

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.report.runs import condition_labels, group_conditions, load_runs, parse_metric
from initlab.store import Store
from initlab.train import resolve_config
from report_stores import DIVERGED_SEED, FAILED_SEED, LRS, SEEDS, Stores

MAIN_LABELS = [
    "init=pytorch-default",
    "init=zeros",
    "init=zero-weight-random-bias(dist=uniform)",
    "init=zero-weight-random-bias(dist=normal)",
]


def test_runs_group_by_config_apart_from_the_seed(stores: Stores) -> None:
    with Store(stores.main) as store:
        conditions = group_conditions(load_runs(store))
        records = store.runs()
    assert [c.label for c in conditions] == MAIN_LABELS
    assert sum(len(c.runs) for c in conditions) == len(records) == 13
    for condition in conditions:
        configs = [{k: v for k, v in r.record.config.items() if k != "seed"} for r in condition.runs]
        assert all(c == configs[0] for c in configs)
        assert len({r.record.config_hash for r in condition.runs}) == len(condition.runs)  # seeds differ
    *same_seeds, normal = conditions
    assert all([r.record.seed for r in c.runs] == SEEDS for c in same_seeds)
    assert [r.record.seed for r in normal.runs] == [0, 1, DIVERGED_SEED, FAILED_SEED]
    assert [r.status for r in normal.runs] == ["finished", "finished", "diverged", "failed"]
    assert normal.params == {"init": "zero-weight-random-bias", "init_params.dist": "normal",
                             "init_params.scale": 1.0, "init_params.shift": 0.0,
                             "init_params.bias": None, "init_params.bias_scale": None}  # fmt: skip
    assert conditions[0].params["init_params.dist"] is None
    assert normal.value("model_params.width") == 16


def test_runs_stored_before_the_user_code_fields_group_with_new_ones(stores: Stores) -> None:
    with Store(stores.main) as store:
        runs = load_runs(store, init="zeros")
    assert runs[0].record.config["imports"] == [] and runs[0].record.config["model_source"] is None
    old = [
        replace(run, record=replace(run.record, config={k: v for k, v in run.record.config.items()
                                                          if k not in ("imports", "model_source")}))
        for run in runs
    ]  # fmt: skip
    assert len(group_conditions([*runs, *old])) == 1
    changed = [replace(run, record=replace(run.record, config={**run.record.config, "model_source": "ab"}))
               for run in runs]  # fmt: skip
    assert len(group_conditions([*runs, *changed])) == 2  # another source is another condition


def test_filters_select_runs_and_labels_follow_what_differs(stores: Stores) -> None:
    with Store(stores.main) as store:
        zwrb = group_conditions(load_runs(store, init="zero-weight-random-bias"))
        assert [c.label for c in zwrb] == ["init=zero-weight-random-bias(dist=uniform)",
                                           "init=zero-weight-random-bias(dist=normal)"]  # fmt: skip
        (only,) = group_conditions(load_runs(store, init="zeros"))
        assert only.label == "model=mlp, init=zeros(bias=zeros,bias_scale=0.01)"
        hashes = {r.config_hash for r in store.runs(init="zeros")}
        assert [r.id for r in load_runs(store, config_hashes=hashes)] == [r.id for r in only.runs]
        assert load_runs(store, dataset="mnist") == []
    with Store(stores.lr_sweep) as store:
        conditions = group_conditions(load_runs(store))
    assert [c.label for c in conditions] == [f"lr={lr:g}" for lr in LRS]
    assert [c.params for c in conditions] == [{"lr": lr} for lr in LRS]


def test_labels_name_each_differing_field_and_params_of_the_same_scheme() -> None:
    base = resolve_config(RunConfig(dataset="synthetic-blobs", model="mlp", init="zero-weight-random-bias"))
    a = base.model_dump(mode="json")
    b = {**a, "model": "logistic", "model_params": {}, "init_params": {**a["init_params"], "scale": 10.0}}
    c = {**a, "lr": 0.01, "init": "pytorch-default", "init_params": {}}
    assert condition_labels([a, b, c]) == [
        "model=mlp, init=zero-weight-random-bias(scale=1), lr=0.001",
        "model=logistic, init=zero-weight-random-bias(scale=10), lr=0.001",
        "model=mlp, init=pytorch-default, lr=0.01",
    ]
    # configs whose differing values print alike still get distinct labels
    assert condition_labels([{**c, "lr": 0.1}, {**c, "lr": 0.1000001}]) == ["lr=0.1", "lr=0.1 [2]"]


def test_metric_names_parse_into_split_and_name() -> None:
    assert parse_metric("test_accuracy") == ("test", "accuracy")
    assert parse_metric("train_batch_loss") == ("train", "batch_loss")
    with pytest.raises(ConfigError, match="'accuracy' is not of the form SPLIT_NAME"):
        parse_metric("accuracy")
