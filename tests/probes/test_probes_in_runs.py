"""Probes named in a run's config: validated, attached by ``train``, stored, and without effect on
the run's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from initlab.callbacks import STEP_EVENTS, dispatch
from initlab.config import RunConfig, load_config, make_config
from initlab.errors import ConfigError
from initlab.probes import PROBES, build_probe, run_probes
from initlab.probes.table import layers, names, pivot, series, steps
from initlab.probes.update_order import EVENTS
from initlab.store import Store, export_csv
from initlab.train import resolve_config, train
from probe_helpers import digits_batches

#: The probes that watch a classifier's run (the samples probe watches denoisers only: tests/tasks).
GENERAL = [name for name in PROBES.names() if PROBES.get(name).fn.task in (None, "classify")]
EVERY_STEP = {name: {"first": 1000, "every": 1} for name in GENERAL}


def digits(**overrides: object) -> RunConfig:
    base = {"dataset": "digits", "model": "mlp", "model_params": {"depth": 4, "width": 32}, "epochs": 2}
    return RunConfig(**(base | overrides))


def numbers(result: object) -> list[dict[str, float]]:
    return [{k: v for k, v in epoch.items() if k != "train_seconds"} for epoch in result.history]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_run_with_every_probe_on_every_step_is_bitwise_the_run_without(optimizer: str) -> None:
    plain = train(digits(optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 1e-3))
    probed = train(digits(optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 1e-3, probes=EVERY_STEP))
    assert numbers(probed) == numbers(plain)
    for a, b in zip(plain.model.parameters(), probed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert set(probed.probes) == set(GENERAL) and all(p.rows for p in probed.probes.values())
    assert all(len(m._forward_hooks) == 0 for m in probed.model.modules())  # detached at the end


def test_probes_leave_batchnorm_dropout_and_the_random_stream_alone() -> None:
    """A conv net with BatchNorm and dropout, trained on the same batches with and without every
    probe: the same parameters, buffers and global random state, bit for bit."""

    def run(with_probes: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.Dropout(0.3),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 10),
        )  # fmt: skip
        probes = [build_probe(name, first=1000, every=1) for name in GENERAL] if with_probes else []
        run_probes(model, probes, digits_batches(6), optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        return model.state_dict(), torch.get_rng_state()

    (plain, plain_rng), (probed, probed_rng) = run(False), run(True)
    assert all(torch.equal(plain[k], probed[k]) for k in plain)
    assert torch.equal(plain_rng, probed_rng)


def test_probe_rows_reach_the_store_and_read_back_by_probe_layer_and_quantity(tmp_path: Path) -> None:
    config = digits(probes={"symmetry": {"first": 3, "every": 10}, "grad-dist": {"first": 2, "every": 0}})
    with Store(tmp_path / "r.db") as store:
        result = train(config, sink=store)
        symmetry = result.probes["symmetry"]
        stored = store.probe_rows(result.id, "symmetry", layer="fc1", name="rank")
        assert [row for _, row in stored] == symmetry.select(name="rank", layer="fc1")
        assert steps(symmetry.rows) == [0, 1, 2, 10]  # states after 0..18 steps (2 epochs of 9)
        every = store.probe_rows(result.id)
        assert {probe for probe, _ in every} == {"symmetry", "grad-dist"}
        assert len(every) == len(symmetry.rows) + len(result.probes["grad-dist"].rows)
        export_csv(store, tmp_path / "csv")
    header = (tmp_path / "csv" / "probe_rows.csv").read_text().splitlines()[0]
    assert header == "run_id,probe,step,layer,name,value"


def test_tidy_helpers_read_the_rows() -> None:
    result = train(digits(epochs=1, probes={"grad-dist": {"first": 3, "every": 0}}))
    rows = result.probes["grad-dist"].rows
    assert layers(rows) == ["fc1", "fc2", "fc3", "head"]
    assert names(rows)[:3] == ["min", "p01", "p25"]
    xs, ys = series(rows, "head", "norm")
    assert xs == [0, 1, 2] and ys == [pivot(rows, "norm")["head"][s] for s in xs]


def test_probe_names_and_params_are_validated_and_resolved() -> None:
    config = resolve_config(make_config({"probes": {"symmetry": {"every": "5"}, "update-order": {}}}))
    assert config.probes["symmetry"] == {"first": 10, "every": 5, "rtol": 1e-6, "atol": 0.0, "rank": True}
    assert config.probes["update-order"]["rel_threshold"] == 1e-6
    assert config.key() != resolve_config(make_config({})).key()
    with pytest.raises(ConfigError, match=r"unknown probe 'symetry' \(did you mean 'symmetry'\?\); allowed:"):
        resolve_config(make_config({"probes": {"symetry": {}}}))
    with pytest.raises(ConfigError, match=r"probe 'signal': every=-1 is invalid"):
        resolve_config(make_config({"probes": {"signal": {"every": -1}}}))
    with pytest.raises(
        ConfigError, match=r"unknown parameter 'evry' for probe 'jacobian'; allowed: first, every"
    ):
        resolve_config(make_config({"probes": {"jacobian": {"evry": 1}}}))


def test_probe_params_from_a_file_merge_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("[probes.symmetry]\nevery = 5\nrank = false\n[probes.signal]\n")
    config = load_config(path, {"probes": {"symmetry": {"every": 7}, "grad-dist": {}}})
    assert config.probes["symmetry"]["every"] == 7 and config.probes["symmetry"]["rank"] is False
    assert set(config.probes) == {"symmetry", "signal", "grad-dist"}


def test_probes_that_are_off_are_not_called_except_update_order_for_its_events() -> None:
    """A probe whose schedule never fires is left out of every per-step event of the loop; update-order
    still watches the steps until every tensor has moved (its first-step events need no schedule)."""
    off = [build_probe(name, first=0, every=0) for name in GENERAL]
    for event in STEP_EVENTS:
        called = {hook.__self__.name for hook in dispatch(off, event)}
        assert called == ({"update-order"} if event != "on_after_backward" else set()), event
    result = train(digits(epochs=1, probes={name: {"first": 0, "every": 0} for name in GENERAL}))
    assert {name for name, probe in result.probes.items() if probe.rows} == {"update-order"}
    assert {r.name for r in result.probes["update-order"].rows} <= set(EVENTS)
