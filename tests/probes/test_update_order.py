"""The update-order probe: which parameter tensor moves first, by exact steps, and what it costs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initlab.config import RunConfig
from initlab.probes import UpdateOrderProbe, run_probes
from initlab.records import MemorySink
from initlab.train import Callback, TrainContext, train
from probe_helpers import digits_batches

LAYERS = ("fc1", "fc2", "fc3", "fc4", "head")


def digits_mlp(**overrides: object) -> RunConfig:
    base = {
        "dataset": "digits",
        "model": "mlp",
        "model_params": {"depth": 5, "width": 32, "activation": "tanh"},
        "init": "zero-weight-random-bias",
        "epochs": 1,
        "probes": {"update-order": {}},
    }
    return RunConfig(**(base | overrides))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.1), ("adam", 1e-3)])
def test_zero_weights_random_biases_move_from_the_head_back_one_layer_per_step(
    activation: str, optimizer: str, lr: float
) -> None:
    """Depth L = 5: layer L−k (k = 0 the head) first changes at step k, exactly."""
    sink = MemorySink()
    config = digits_mlp(
        optimizer=optimizer, lr=lr, model_params={"depth": 5, "width": 32, "activation": activation}
    )
    result = train(config, sink=sink)
    summary = result.probes["update-order"].summary()
    first = [summary[f"{layer}.weight"]["first_change_step"] for layer in LAYERS]
    print(f"{activation}/{optimizer}: first change of each weight, input to head: {first}")
    assert first == [4, 3, 2, 1, 0]
    assert [summary[f"{layer}.weight"]["first_grad_step"] for layer in LAYERS] == [4, 3, 2, 1, 0]
    stored = [r for r in sink.probe_rows[result.id]["update-order"] if r.name == "first_change_step"]
    assert {(r.layer, r.step, r.value) for r in stored} >= {
        (f"{layer}.weight", k, k) for k, layer in enumerate(LAYERS[::-1])
    }


def test_with_pytorch_default_every_layer_changes_at_step_0() -> None:
    result = train(digits_mlp(init="pytorch-default", optimizer="sgd", lr=0.1))
    summary = result.probes["update-order"].summary()
    assert all(events == {e: 0 for e in events} for events in summary.values())


class Scaled(nn.Module):
    """``alpha · head(x)`` with a trainable scalar multiplier 1.0 and a frozen head of tiny weights (as
    a Fixup branch multiplier sees at first): alpha's gradient is non-zero but far below half an ulp
    of 1.0 divided by the learning rate."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(64, 10)
        self.alpha = nn.Parameter(torch.ones(()))
        with torch.no_grad():
            self.head.weight.fill_(1e-9)
            self.head.bias.zero_()
        self.head.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * self.head(x.flatten(1))


def test_a_gradient_too_small_to_change_a_float_is_reported_apart_from_the_change() -> None:
    model = Scaled()
    probe = UpdateOrderProbe(first=3, every=0)
    run_probes(model, [probe], digits_batches(3), optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    alpha = probe.summary()["alpha"]
    assert alpha == {"first_grad_step": 0, "first_change_step": None, "first_rel_change_step": None}
    assert model.alpha.item() == 1.0
    grads = [r.value for r in probe.select(name="grad_norm", layer="alpha")]
    assert len(grads) == 3 and all(0 < g < 1e-6 for g in grads)


def test_standalone_rows_measure_the_step_and_a_zero_tensor_moves_infinitely_far() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with torch.no_grad():
        model[1].weight.zero_()
    x, y = digits_batches(1)[0]
    probe = UpdateOrderProbe().attach(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.nn.functional.cross_entropy(model(x), y).backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    rows = {(r.layer, r.name): r.value for r in probe.record(0)}
    for name, param in model.named_parameters():
        assert rows[(name, "delta_norm")] == pytest.approx(float((param.detach() - before[name]).norm()))
        assert rows[(name, "grad_norm")] == pytest.approx(float(param.grad.norm()))
    assert rows[("1.weight", "update_ratio")] == math.inf
    bias_ratio = float((model[1].bias.detach() - before["1.bias"]).norm() / before["1.bias"].norm())
    assert rows[("1.bias", "update_ratio")] == pytest.approx(bias_ratio)
    assert probe.record(1) == [r for r in probe.rows if r.step == 1]  # no step: no change, no events
    assert {r.name for r in probe.rows if r.step == 1} == {"grad_norm", "delta_norm", "update_ratio"}


class Snapshots(Callback):
    """Looks, after each backward pass, at whether the probe holds a snapshot for this step."""

    def __init__(self, probe: UpdateOrderProbe):
        self.probe, self.seen = probe, []

    def on_after_backward(self, ctx: TrainContext) -> None:
        self.seen.append(bool(self.probe._before))


def test_once_everything_has_moved_unscheduled_steps_cost_nothing() -> None:
    probe = UpdateOrderProbe(first=2, every=5)
    watcher = Snapshots(probe)
    config = RunConfig(
        dataset="digits", model="mlp", model_params={"width": 16}, optimizer="sgd", lr=0.1, epochs=1
    )
    train(config, callbacks=[probe, watcher])
    assert watcher.seen == [s < 2 or s % 5 == 0 for s in range(len(watcher.seen))]
    assert sorted({r.step for r in probe.rows}) == [0, 1, 5]


def test_a_change_whose_norm_underflows_still_counts() -> None:
    """Gradient 1e-30 and change 1e-31 per element: their float32 norms underflow to 0, yet both are
    non-zero, so the events happen; the rows report the norms as computed (0) and the ratio of a
    change of a zero tensor (inf)."""
    model = nn.Module()
    model.p = nn.Parameter(torch.zeros(10))
    probe = UpdateOrderProbe().attach(model)
    (model.p * 1e-30).sum().backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    rows = {r.name: r.value for r in probe.record(0)}
    assert rows["first_grad_step"] == rows["first_change_step"] == rows["first_rel_change_step"] == 0
    assert rows["grad_norm"] == rows["delta_norm"] == 0.0 and rows["update_ratio"] == math.inf
