"""The batched (vmap) engine: S seeds at once give the records of S separate ``train()`` runs."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import stack_module_state

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.models import build_model
from initlab.records import MemorySink, MetricRow
from initlab.train import RunResult, train
from initlab.train.batched import check_batchable, train_batched
from initlab.train.optim import make_optimizer
from sweep_helpers import BLOBS

SEEDS = (0, 1, 2)


def blobs(seed: int, **overrides: object) -> RunConfig:
    return RunConfig(**(BLOBS | {"log_every": 5, "seed": seed} | overrides))


def numbers(rows: list[MetricRow]) -> list[MetricRow]:
    """A run's metric rows without wall-clock timings."""
    return [r for r in rows if r.name != "seconds"]


def assert_same_runs(configs: list[RunConfig]) -> list[RunResult]:
    """Batched and separate runs: same statuses, same metric rows, values equal up to float rounding."""
    batched_sink, separate_sink = MemorySink(), MemorySink()
    batched = train_batched(configs, sink=batched_sink)
    separate = [train(c, sink=separate_sink) for c in configs]
    for b, s in zip(batched, separate, strict=True):
        assert (b.status, b.diverged_step, b.config) == (s.status, s.diverged_step, s.config)
        b_rows, s_rows = numbers(batched_sink.metrics[b.id]), numbers(separate_sink.metrics[s.id])
        assert [r[:4] for r in b_rows] == [r[:4] for r in s_rows]
        for br, sr in zip(b_rows, s_rows, strict=True):
            # float32 losses summed in another order: a few ulps per step, compounded over ~40 steps
            assert br.value == pytest.approx(sr.value, rel=2e-4, abs=1e-5), (br, sr)
        if s.status == "finished":
            for bp, sp in zip(b.model.parameters(), s.model.parameters(), strict=True):
                torch.testing.assert_close(bp, sp, rtol=1e-3, atol=1e-4)
    starts = {start.id: start for start in batched_sink.starts}
    for b, s in zip(batched, separate, strict=True):  # each seed is recorded as its own run
        assert starts[b.id].config_hash == s.config.key() and starts[b.id].seed == s.config.seed
        assert batched_sink.ends[b.id].status == b.status
    return batched


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # Adam
        {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        {"optimizer": "adamw", "weight_decay": 0.1, "schedule": "cosine", "warmup_steps": 5, "val_size": 0},
        {
            "optimizer": "sgd",
            "lr": 0.05,
            "schedule": "step",
            "gamma": 0.5,
            "train_size": 300,
            "val_size": 100,
        },
    ],
    ids=["adam", "sgd-nesterov", "adamw-cosine-no-val", "sgd-step-subset"],
)
def test_batched_seeds_match_separate_runs(overrides: dict) -> None:
    assert_same_runs([blobs(s, **overrides) for s in SEEDS])


def digits(seed: int, **overrides: object) -> RunConfig:
    """The issue's case: a digits MLP, where standardizing the [0, 1] pixels changes every number."""
    base = {"dataset": "digits", "model": "mlp", "model_params": {"depth": 3, "width": 32}, "epochs": 1}
    return RunConfig(**(base | {"batch_size": 64, "log_every": 5, "seed": seed} | overrides))


@pytest.mark.parametrize(
    "overrides",
    [{"normalize": True}, {"init": "lsuv"}, {"init": "lsuv", "normalize": True, "train_size": 200}],
    ids=["normalize", "lsuv", "lsuv-normalize-subset"],
)
def test_normalize_and_data_dependent_init_match_separate_runs(overrides: dict) -> None:
    """Each seed standardizes with its own train split's statistics and runs LSUV on its own batch."""
    batched = assert_same_runs([digits(s, **overrides) for s in (0, 1)])
    plain = train(digits(0, **{k: v for k, v in overrides.items() if k == "train_size"}))
    # not what the engine computed before it honoured these fields: the plain run is far off
    assert abs(batched[0].history[0]["test_loss"] - plain.history[0]["test_loss"]) > 1e-3


def test_seeds_diverge_on_their_own() -> None:
    """SGD at lr 20: seeds 1 and 2 diverge (at steps 6 and 5), seeds 0 and 4 finish — as separately."""
    configs = [blobs(s, optimizer="sgd", lr=20.0) for s in (0, 1, 2, 4)]
    results = train_batched(configs)
    assert [(r.status, r.diverged_step) for r in results] == [
        ("finished", None),
        ("diverged", 6),
        ("diverged", 5),
        ("finished", None),
    ]
    assert_same_runs(configs)


@pytest.mark.parametrize(
    "overrides",
    [
        {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        {"optimizer": "adam", "lr": 1e-2, "weight_decay": 1e-3},
        {"optimizer": "adamw", "lr": 1e-2, "weight_decay": 0.1},
    ],
    ids=["sgd", "adam", "adamw"],
)
def test_one_optimizer_over_stacked_parameters_equals_one_per_model(overrides: dict) -> None:
    """SGD, Adam and AdamW are elementwise: stacking S models' parameters changes no bit."""
    config = blobs(0, **overrides)
    models = [build_model("mlp", input_shape=(1, 1, 5), num_classes=3, depth=2, width=7) for _ in range(4)]
    stacked, _ = stack_module_state(models)
    stacked_opt = make_optimizer(config, stacked.values())
    opts = [make_optimizer(config, m.parameters()) for m in models]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        for name, tensor in stacked.items():
            tensor.grad = torch.randn(tensor.shape, generator=g)
            for s, model in enumerate(models):
                model.get_parameter(name).grad = tensor.grad[s].clone()
        stacked_opt.step()
        for opt in opts:
            opt.step()
    for s, model in enumerate(models):
        for name, param in model.named_parameters():
            assert torch.equal(stacked[name][s], param), name
    assert not torch.equal(stacked["fc1.weight"][0], stacked["fc1.weight"][1])


def test_batchnorm_and_dropout_are_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"cannot train model 'cifar-cnn'.*\(bn1, bn2, bn3\)"):
        check_batchable(build_model("cifar-cnn", input_shape=(3, 32, 32)), "cifar-cnn")
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
    with pytest.raises(ConfigError, match=r"layers \(1\)"):
        check_batchable(model, "custom")
    check_batchable(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.0)), "custom")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"augment": "crop-flip"}, r"does not augment \(the config asks for augment='crop-flip'\)"),
        ({"probes": {"symmetry": {}}}, r"attaches no probes \(the config asks for symmetry\)"),
    ],
)
def test_what_the_engine_cannot_honour_is_refused_by_field(overrides: dict, message: str) -> None:
    sink = MemorySink()
    with pytest.raises(ConfigError, match=message):
        train_batched([blobs(s, **overrides) for s in SEEDS], sink=sink)
    assert sink.starts == []


def test_configs_must_differ_in_seed_only() -> None:
    with pytest.raises(ConfigError, match="also differ in lr"):
        train_batched([blobs(0), blobs(1, lr=0.1)])
    with pytest.raises(ConfigError, match=r"distinct seeds; got \[1, 1\]"):
        train_batched([blobs(1), blobs(1)])
    assert train_batched([]) == []


def test_a_failure_mid_training_fails_every_seed_with_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = MemorySink()
    calls = {"n": 0}
    real_step = torch.optim.Adam.step

    def failing_step(self: torch.optim.Adam, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom in step 3")
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", failing_step)
    with pytest.raises(RuntimeError, match="boom"):
        train_batched([blobs(s) for s in SEEDS], sink=sink)
    assert len(sink.starts) == 3
    for start in sink.starts:
        end = sink.ends[start.id]
        assert end.status == "failed" and "RuntimeError: boom in step 3" in end.reason
        assert "Traceback" in end.reason
        assert [r.epoch for r in sink.metrics[start.id] if r.name == "accuracy" and r.split == "test"] == [0]
    assert all(math.isfinite(r.value) for rows in sink.metrics.values() for r in rows)
