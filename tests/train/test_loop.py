"""The training loop: accuracy on real data, bitwise reruns, divergence and failure recorded."""

from __future__ import annotations

import math

import pytest
import torch

from initlab.config import RunConfig
from initlab.models import build_model
from initlab.records import MemorySink
from initlab.tasks import Classify
from initlab.train import Callback, RunResult, TrainContext, load_splits, train


def blobs(**overrides: object) -> RunConfig:
    base = {
        "dataset": "synthetic-blobs",
        "model": "mlp",
        "model_params": {"depth": 3, "width": 32},
        "epochs": 2,
        "batch_size": 32,
        "log_every": 5,
    }
    return RunConfig(**(base | overrides))


def test_seed_study_mnist_fnn_after_one_epoch() -> None:
    """The seed study's MNIST FNN, Adam 1e-3, batch 128, 7,000 validation images, 1 epoch."""
    accuracy = {}
    for init in ("pytorch-default", "zero-weight-random-bias"):
        result = train(RunConfig(dataset="mnist", model="mnist-fnn", init=init, epochs=1))
        assert result.status == "finished"
        accuracy[init] = result.test_accuracy
    print(f"MNIST FNN, 1 epoch, test accuracy: {accuracy}")
    assert accuracy["pytorch-default"] >= 0.92
    assert accuracy["zero-weight-random-bias"] >= 0.90


def test_zero_init_stays_at_the_majority_class() -> None:
    result = train(RunConfig(dataset="mnist", model="mnist-fnn", init="zeros", epochs=1))
    print(f"zeros: test accuracy {result.test_accuracy}")
    assert result.test_accuracy == pytest.approx(1135 / 10000, abs=0.002)


def numbers(result: RunResult) -> list[dict[str, float]]:
    """A run's history without its wall-clock timings."""
    return [{k: v for k, v in epoch.items() if k != "train_seconds"} for epoch in result.history]


def test_same_seed_is_bitwise_identical() -> None:
    first, second = train(blobs(seed=3)), train(blobs(seed=3))
    assert numbers(first) == numbers(second)
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        assert torch.equal(a, b)
    other = train(blobs(seed=4))
    assert numbers(other) != numbers(first)


def test_conv_run_in_channels_last_is_bitwise_identical() -> None:
    config = RunConfig(dataset="mnist", model="mnist-cnn", train_size=512, val_size=1000, epochs=1, seed=1)
    first, second = train(config), train(config)
    assert numbers(first) == numbers(second)
    assert first.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_history_and_metrics_cover_every_epoch() -> None:
    sink = MemorySink()
    result = train(blobs(epochs=3), sink=sink)
    assert [h["epoch"] for h in result.history] == [0, 1, 2, 3]
    rows = sink.metrics[result.id]
    test_acc = [r for r in rows if r.split == "test" and r.name == "accuracy"]
    assert [r.epoch for r in test_acc] == [0, 1, 2, 3]
    assert result.summary["test_accuracy"] == test_acc[-1].value
    assert result.test_accuracy > 0.9  # blobs are separable
    steps_per_epoch = math.ceil(len(load_splits(blobs()).train) / 32)
    assert test_acc[-1].step == 3 * steps_per_epoch
    assert any(r.name == "batch_loss" for r in rows)


def test_divergence_is_recorded_not_raised() -> None:
    sink = MemorySink()
    result = train(blobs(optimizer="sgd", lr=1e6, epochs=3), sink=sink)
    assert result.status == "diverged"
    assert result.diverged_step is not None and result.diverged_step >= 0
    assert f"step {result.diverged_step}" in result.reason
    end = sink.ends[result.id]
    assert end.status == "diverged" and end.diverged_step == result.diverged_step


class Explode(Callback):
    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.step == 3:
            raise RuntimeError("boom at step 3")


def test_a_run_that_raises_is_recorded_as_failed_with_its_traceback() -> None:
    sink = MemorySink()
    with pytest.raises(RuntimeError, match="boom"):
        train(blobs(), sink=sink, callbacks=[Explode()])
    (run_id,) = sink.ends
    assert sink.ends[run_id].status == "failed"
    assert "RuntimeError: boom at step 3" in sink.ends[run_id].reason
    assert "Traceback" in sink.ends[run_id].reason


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def on_train_start(self, ctx: TrainContext) -> None:
        self.events.append(("start", ctx.step))

    def on_after_backward(self, ctx: TrainContext) -> None:
        assert all(p.grad is not None for p in ctx.model.parameters())
        self.events.append(("backward", ctx.step))

    def on_epoch_end(self, ctx: TrainContext) -> None:
        self.events.append(("epoch", ctx.epoch))


def test_callbacks_see_every_step_in_order() -> None:
    recorder = Recorder()
    result = train(blobs(epochs=1), callbacks=[recorder])
    steps = [s for e, s in recorder.events if e == "backward"]
    assert steps == list(range(len(steps))) and len(steps) > 1
    assert recorder.events[0] == ("epoch", 0) and ("epoch", 1) in recorder.events
    assert result.status == "finished"


def test_sgd_options_and_schedules_train() -> None:
    for overrides in (
        {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
        {"optimizer": "adamw", "schedule": "cosine", "warmup_steps": 5},
        {"optimizer": "adam", "schedule": "step", "step_size": 1, "gamma": 0.5},
    ):
        result = train(blobs(**overrides))
        assert result.status == "finished" and result.test_accuracy > 0.9, overrides


def test_evaluate_uses_eval_mode_and_leaves_the_model_as_it_was() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    model.train()
    splits = load_splits(blobs(dataset_params={"dim": 4, "classes": 2}))
    before = model[1].running_mean.clone()
    Classify(blobs()).evaluate(model, splits.test, 100)
    assert model.training
    assert torch.equal(model[1].running_mean, before)


def test_a_callers_module_gives_the_records_of_the_registered_model() -> None:
    """``train(config, model=build_model(...))``: the config's init is applied to the given module
    (whatever its weights were), so the records equal those of ``train(config)``; the recorded config
    says what the module was, under a key of its own."""
    config = blobs(seed=5)
    data = load_splits(config).full
    module = build_model("mlp", input_shape=data.input_shape, num_classes=data.num_classes, depth=3, width=32)
    with torch.no_grad():
        for param in module.parameters():
            param.fill_(7.0)  # redrawn by the config's init, pytorch-default
    registered_sink, given_sink = MemorySink(), MemorySink()
    registered = train(config, sink=registered_sink)
    given = train(config, model=module, sink=given_sink)
    assert given.model is module and given.status == registered.status == "finished"
    assert numbers(given) == numbers(registered)
    rows = [[r for r in sink.metrics[run.id] if r.name != "seconds"] for sink, run in
            ((registered_sink, registered), (given_sink, given))]  # fmt: skip
    assert rows[0] == rows[1]
    for a, b in zip(registered.model.parameters(), module.parameters(), strict=True):
        assert torch.equal(a, b)
    (start,) = given_sink.starts
    assert start.config["model"] == "torch.nn.modules.container:Sequential"  # initlab's mlp is one
    assert start.config["model_params"]["parameters"] == sum(p.numel() for p in module.parameters())
    assert start.config_hash == given.config.key() != registered.config.key()
    narrower = build_model("mlp", input_shape=data.input_shape, num_classes=data.num_classes, width=16)
    assert train(config.model_copy(update={"epochs": 0}), model=narrower).config.key() != given.config.key()
