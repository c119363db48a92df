"""The signal probe: forward and backward signal per layer, dead units, NF-ResNet block metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initlab import apply_init, build_model
from initlab.config import RunConfig
from initlab.probes import SignalProbe, run_probes
from initlab.probes.table import at_step, pivot
from initlab.train import Callback, TrainContext, train
from probe_helpers import Residual, digits_batches

SCHEMES = {
    "he": "he-normal",
    "pytorch-default": "pytorch-default",
    "lecun": "lecun-normal",
    "xavier": "xavier-normal",
}


def ratios(rule: str, activation: str, seed: int, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Input signal and plain std of the last hidden activation over the first's, 50-layer MLP."""
    model = build_model("mlp", input_shape=(1, 8, 8), depth=50, width=256, activation=activation)
    apply_init(model, SCHEMES[rule], torch.Generator().manual_seed(seed))
    probe = SignalProbe().attach(model)
    F.cross_entropy(model(x), y).backward()
    table = at_step(probe.record(0), 0)
    first, last = table["act1"], table["act49"]
    return last["input_signal"] / first["input_signal"], last["std"] / first["std"]


def test_signal_through_a_50_layer_relu_mlp_on_a_real_batch() -> None:
    """Input signal of the last hidden layer over the first, mean over 3 seeds: above 1e-2 for He,
    below 1e-4 for pytorch-default, LeCun and Xavier; pytorch-default's plain std stays above 1e-2,
    held up by its biases."""
    x, y = digits_batches(1, batch_size=128)[0]
    measured = {}
    for activation in ("relu", "tanh"):
        for rule in ("he", "pytorch-default", "lecun", "xavier"):
            per_seed = [ratios(rule, activation, seed, x, y) for seed in range(3)]
            signal = sum(s for s, _ in per_seed) / 3
            std = sum(p for _, p in per_seed) / 3
            measured[activation, rule] = (signal, std)
            print(
                f"{activation:4} {rule:15} last/first hidden: input signal {signal:.3g}, plain std {std:.3g}"
            )
    assert measured["relu", "he"][0] > 1e-2
    for rule in ("pytorch-default", "lecun", "xavier"):
        assert measured["relu", rule][0] < 1e-4, rule
    assert measured["relu", "pytorch-default"][1] > 1e-2


def test_relu_units_with_a_negative_bias_are_dead_and_stay_dead() -> None:
    model = build_model("mlp", input_shape=(1, 8, 8), depth=4, width=64)
    apply_init(model, "zero-weight-random-bias", torch.Generator().manual_seed(0))
    negative = {f"act{i}": model.get_submodule(f"fc{i}").bias.detach() < 0 for i in (1, 2, 3)}
    initial = {name: model.get_submodule(f"fc{name[-1]}").bias.detach().clone() for name in negative}
    probe = SignalProbe(first=30, every=0)
    run_probes(model, [probe], digits_batches(30), optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    dead = pivot(probe.rows, "dead_fraction")
    for name, mask in negative.items():
        print(f"{name}: {mask.float().mean():.3f} of units have a negative bias; dead: {dead[name][0]:.3f}")
        assert dead[name][0] == float(mask.float().mean())
        assert all(dead[name][s] >= dead[name][0] for s in range(30))
        fc = model.get_submodule(f"fc{name[-1]}")
        assert torch.equal(fc.weight[mask], torch.zeros_like(fc.weight[mask]))  # never got a gradient
        assert torch.equal(fc.bias[mask], initial[name][mask])
    assert model.fc1.weight.abs().sum() > 0  # the live units did train


def test_statistics_match_their_definitions() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(), Residual(32), nn.Linear(32, 10))
    with torch.no_grad():
        model[1].weight.mul_(8)  # saturate some tanh units
    x, y = digits_batches(1, batch_size=128)[0]
    probe = SignalProbe().attach(model, inputs=x)
    pre = model[1](x.flatten(1))
    act = model[2](pre)
    block = model[3](act)
    act.retain_grad()
    loss = F.cross_entropy(model[4](block), y)
    loss.backward()
    rows = at_step(probe.record(0), 0)
    a = act.detach()
    assert rows["2"]["mean"] == pytest.approx(float(a.mean()), rel=1e-5)
    assert rows["2"]["mean_sq"] == pytest.approx(float(a.square().mean()), rel=1e-5)
    assert rows["2"]["input_signal"] == pytest.approx(float(a.std(dim=0).mean()), rel=1e-5)
    assert rows["2"]["saturated_fraction"] == pytest.approx(float((a.abs() > 0.97).float().mean()))
    assert 0 < rows["2"]["saturated_fraction"] < 1
    assert rows["2"]["grad_std"] == pytest.approx(float(act.grad.std()), rel=1e-5)
    assert rows["1"]["weight_std"] == pytest.approx(float(model[1].weight.detach().std()), rel=1e-6)
    b = block.detach()
    assert rows["3"]["avg_channel_sq_mean"] == pytest.approx(float(b.mean(0).square().mean()), rel=1e-5)
    assert rows["3"]["avg_channel_var"] == pytest.approx(float(b.var(0, unbiased=False).mean()), rel=1e-5)
    before = model[1].weight.detach().clone()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    probe.record(1)
    expected = float((model[1].weight.detach() - before).std() / before.std())
    assert probe.select(name="update_ratio", layer="1", step=1)[0].value == pytest.approx(expected, rel=1e-5)


class HookCount(Callback):
    def __init__(self) -> None:
        self.counts: list[int] = []

    def on_after_backward(self, ctx: TrainContext) -> None:
        self.counts.append(sum(len(m._forward_hooks) for m in ctx.model.modules()))


def test_hooks_exist_only_on_scheduled_steps() -> None:
    counter = HookCount()
    config = RunConfig(dataset="digits", model="mlp", epochs=1, probes={"signal": {"first": 1, "every": 4}})
    result = train(config, callbacks=[counter])
    scheduled = [s % 4 == 0 for s in range(len(counter.counts))]
    assert [count > 0 for count in counter.counts] == scheduled  # the counter runs before the probe
    steps_seen = sorted({r.step for r in result.probes["signal"].rows})
    assert steps_seen == [s for s, on in enumerate(scheduled) if on]
    assert all(len(m._forward_hooks) == 0 for m in result.model.modules())


def test_in_place_activations_do_not_hide_the_pre_activation_or_its_gradient() -> None:
    """A forward hook plus a tensor hook (never a full backward module hook) on a Linear followed by
    ReLU(inplace=True): the statistics are those of the same net with an ordinary ReLU."""
    torch.manual_seed(0)
    x, y = digits_batches(1)[0]
    stats = []
    for inplace in (True, False):
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(inplace=inplace), nn.Linear(16, 10))
        model.load_state_dict(stats[0][1] if stats else model.state_dict())
        probe = SignalProbe().attach(model)
        F.cross_entropy(model(x), y).backward()
        stats.append((at_step(probe.record(0), 0), model.state_dict()))
    (with_inplace, _), (without, _) = stats
    assert with_inplace == without
    assert with_inplace["2"]["mean"] > with_inplace["1"]["mean"]  # the hook saw the pre-activation


def test_quantile_rows_are_the_exact_quantiles_of_each_output_and_its_gradient() -> None:
    """``quantiles=True`` adds the activation's and its gradient's order statistics (as numpy.quantile
    computes them) and leaves every other row as it was; off, there are none."""
    torch.manual_seed(0)
    x, y = digits_batches(1, batch_size=128)[0]
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    plain = SignalProbe().attach(model)
    F.cross_entropy(model(x), y).backward()
    without = at_step(plain.record(0), 0)
    plain.detach()
    probe = SignalProbe(quantiles=True).attach(model)
    act = model[2](model[1](x.flatten(1)))
    act.retain_grad()
    F.cross_entropy(model[3](act), y).backward()
    rows = at_step(probe.record(0), 0)
    qs = [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0]
    names = ["min", "p01", "p25", "p50", "p75", "p99", "max"]
    expected = np.quantile(act.detach().numpy().astype(np.float64), qs)
    assert [rows["2"][n] for n in names] == pytest.approx(expected.tolist(), rel=1e-6, abs=1e-12)
    grads = np.quantile(act.grad.numpy().astype(np.float64), qs)
    assert [rows["2"][f"grad_{n}"] for n in names] == pytest.approx(grads.tolist(), rel=1e-6, abs=1e-12)
    for layer, stats in without.items():  # the other rows are unchanged
        assert {k: v for k, v in rows[layer].items() if k in stats} == pytest.approx(stats, rel=1e-6)
        assert not set(stats) & {*names, *(f"grad_{n}" for n in names)}
