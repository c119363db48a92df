"""The symmetry probe: identical units, the permanence verdict tested both ways, and weight ranks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initlab import apply_init, build_model
from initlab.config import RunConfig, make_config
from initlab.data import load_dataset
from initlab.probes import PROBES, SymmetryProbe, run_probes
from initlab.probes.symmetry import Verdict, rank_and_effective_rank
from initlab.probes.table import pivot
from initlab.train import resolve_config, train
from probe_helpers import Residual, constant_, digits_batches

HIDDEN = ("fc1", "fc2", "fc3")


def mlp(activation: str = "tanh", depth: int = 4, width: int = 16) -> nn.Module:
    return build_model("mlp", input_shape=(1, 8, 8), depth=depth, width=width, activation=activation)


def verdict_at_init(model: nn.Module, layer: str) -> Verdict:
    """The verdict on ``layer`` of ``model`` as it is, traced on a digits batch."""
    probe = SymmetryProbe(first=1).attach(model, inputs=digits_batches(1)[0][0])
    probe.record(0)
    return probe.verdicts[layer]


def watch(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, **params: object) -> SymmetryProbe:
    """Run ``steps`` optimizer steps on digits, recording the symmetry at every step 0..steps."""
    probe = SymmetryProbe(first=steps + 1, every=0, **params)
    run_probes(model, [probe], digits_batches(steps), optimizer=optimizer)
    return probe


def at(probe: SymmetryProbe, name: str, step: int) -> dict[str, float]:
    return {layer: values[step] for layer, values in pivot(probe.rows, name).items()}


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_all_zero_mlp_hidden_layers_are_one_permanent_group_for_good(activation: str) -> None:
    model = apply_init(mlp(activation), "zeros")
    probe = watch(model, torch.optim.SGD(model.parameters(), lr=0.5), steps=20)
    for step in (0, 20):
        largest, permanent = at(probe, "largest_group", step), at(probe, "permanent_largest_group", step)
        distinct = at(probe, "distinct", step)
        assert all(largest[layer] == permanent[layer] == 16 and distinct[layer] == 1 for layer in HIDDEN)
    assert all(probe.verdicts[layer].permanent for layer in HIDDEN)
    assert (
        at(probe, "largest_group", 0)["head"] == 10 and at(probe, "permanent_largest_group", 0)["head"] == 1
    )
    head = verdict_at_init(apply_init(mlp(activation), "zeros"), "head")
    assert head.largest_group == 10 and not head.permanent and "model's output" in head.reason


def test_a_constant_conv_net_keeps_its_channels_identical() -> None:
    """Conv locality does not break the symmetry between channels: mnist-cnn with every weight and
    bias 0.01, 5 SGD steps on MNIST."""
    model = constant_(build_model("mnist-cnn", activation="relu"), weight=0.01, bias=0.01)
    data = load_dataset("mnist", "train")
    batches = [(data.x[i * 32 : (i + 1) * 32], data.y[i * 32 : (i + 1) * 32]) for i in range(5)]
    probe = SymmetryProbe(first=6, every=0, rank=False)
    run_probes(model, [probe], batches, optimizer=torch.optim.SGD(model.parameters(), lr=0.05))
    for step in (0, 5):
        largest, permanent = at(probe, "largest_group", step), at(probe, "permanent_largest_group", step)
        assert (largest["conv1"], largest["conv2"]) == (permanent["conv1"], permanent["conv2"]) == (16, 32)
    assert not torch.equal(model.conv1.weight, torch.full_like(model.conv1.weight, 0.01))  # it trained
    assert probe.verdicts["conv2"].permanent and probe.verdicts["conv2"].reason.startswith("permanent")


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda p: torch.optim.Adam(p, lr=1e-2),
    ],
    ids=["sgd-nesterov", "adam"],
)
def test_permanent_verdict_holds_while_the_weights_move(make_optimizer: object) -> None:
    """Identical (non-zero) units under SGD+momentum or Adam: they move, yet never separate."""
    model = constant_(mlp("tanh"))
    before = model.fc1.weight.detach().clone()
    probe = watch(model, make_optimizer(model.parameters()), steps=20)
    assert all(probe.verdicts[layer].permanent for layer in HIDDEN)
    assert all(at(probe, "largest_group", 20)[layer] == 16 for layer in HIDDEN)
    assert (model.fc1.weight - before).abs().max() > 1e-3
    assert at(probe, "rank", 20)["fc1"] == 1  # identical rows: rank 1, whatever they learned


def dropout_mlp() -> nn.Module:
    return constant_(
        nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 10))
    )


def test_dropout_is_not_a_permanent_symmetry_and_the_units_separate() -> None:
    torch.manual_seed(0)
    model = dropout_mlp()
    probe = watch(model, torch.optim.SGD(model.parameters(), lr=0.5), steps=20)
    assert at(probe, "largest_group", 0)["1"] == 16
    assert at(probe, "permanent_largest_group", 0)["1"] == 1
    assert at(probe, "largest_group", 20)["1"] < 16
    assert "dropout" in verdict_at_init(dropout_mlp(), "1").reason
    assert probe.verdicts["4"].largest_group == 1  # the head: fed by the loss


def residual_with_zero_last_layer() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), Residual(16), nn.Linear(16, 10))
    nn.init.zeros_(model[3].f2.weight)
    nn.init.zeros_(model[3].f2.bias)
    return model


def test_zero_last_layer_of_a_residual_branch_is_not_permanent() -> None:
    """Fixup/zero-γ style: the branch's zero last layer is added to a stream whose units differ."""
    model = residual_with_zero_last_layer()
    probe = watch(model, torch.optim.SGD(model.parameters(), lr=0.1), steps=5)
    assert at(probe, "largest_group", 0)["3.f2"] == 16
    assert at(probe, "permanent_largest_group", 0)["3.f2"] == 1
    assert at(probe, "largest_group", 5)["3.f2"] == 1  # separated
    reason = verdict_at_init(residual_with_zero_last_layer(), "3.f2").reason
    assert reason == "not permanent: 1.weight (incoming) differ"  # tied to the stem's distinct units


def test_a_per_unit_parameter_that_differs_breaks_the_symmetry() -> None:
    """BatchNorm over channels is per unit but equivariant: equal γ keep the channels identical, a
    different γ on one channel separates it."""
    model = constant_(
        nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    )
    assert verdict_at_init(model, "0").permanent_largest_group == 4
    with torch.no_grad():
        model[1].weight[0] = 2.0
    verdict = verdict_at_init(model, "0")
    assert verdict.permanent_largest_group == 3 and verdict.largest_group == 4
    assert verdict.reason == "not permanent: 1.weight (per unit) differ"


def test_a_residual_stream_of_identical_units_is_permanent() -> None:
    """When the stem and every branch are constant, the stream's units are tied across layers and the
    whole stream stays one group: the verdict follows the residual connections."""
    model = constant_(
        nn.Sequential(
            nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), Residual(16), Residual(16), nn.Linear(16, 10)
        )
    )
    probe = watch(model, torch.optim.SGD(model.parameters(), lr=0.1), steps=20)
    for layer in ("1", "3.f1", "3.f2", "4.f1", "4.f2"):
        assert at(probe, "permanent_largest_group", 20)[layer] == 16, layer
    tied = SymmetryProbe(first=1).attach(model, inputs=digits_batches(1)[0][0])
    tied.record(0)
    graph = tied.graph
    assert graph.root(graph.units_of("1")[3]) == graph.root(graph.units_of("4.f2")[3])  # tied


class PaddedShortcut(nn.Module):
    """A widening residual block whose shortcut pads the stream with zero channels (as Fixup's
    reference CIFAR ResNet does): ``cat([x, 0]) + branch(x)``."""

    def __init__(self, width: int):
        super().__init__()
        self.branch = nn.Linear(width, 2 * width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, torch.zeros_like(x)], dim=1) + self.branch(x)


def test_a_zero_padded_shortcut_splits_a_constant_layer_into_two_permanent_halves() -> None:
    """The branch's first 8 units are added to the stream, the last 8 to zeros: the halves differ,
    and within each half the units stay identical."""
    model = constant_(
        nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.Tanh(), PaddedShortcut(8), nn.Linear(16, 10))
    )
    at_init = verdict_at_init(model, "3.branch")
    assert (at_init.largest_group, at_init.permanent_largest_group, at_init.permanent_fraction) == (
        16,
        8,
        1.0,
    )
    probe = watch(model, torch.optim.SGD(model.parameters(), lr=0.5), steps=10)
    assert at(probe, "largest_group", 10)["3.branch"] == 8 and at(probe, "largest_group", 10)["1"] == 8


def test_a_skip_from_the_raw_input_breaks_the_symmetry() -> None:
    model = constant_(nn.Sequential(nn.Flatten(), Residual(64), nn.Linear(64, 10)))
    assert "not a unit of any layer" in verdict_at_init(model, "1.f2").reason


def test_grouped_convs_keep_groups_apart_and_unknown_ops_are_named() -> None:
    class Cumulative(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, groups=1)
            self.grouped = nn.Conv2d(4, 4, 3, groups=2)
            self.head = nn.Linear(4, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.grouped(torch.relu(self.conv(x)))).mean(dim=(2, 3))
            return self.head(torch.cumsum(h, dim=1))

    model = constant_(Cumulative())
    grouped = verdict_at_init(model, "grouped")
    assert grouped.largest_group == 2  # equal weights, but two groups of inputs
    assert "cumsum" in grouped.reason
    conv = verdict_at_init(model, "conv")
    assert conv.largest_group == 4 and conv.permanent_largest_group == 2  # pairs within a conv group


def test_without_inputs_there_is_no_verdict_but_there_are_groups() -> None:
    model = apply_init(mlp(), "zeros")
    probe = SymmetryProbe(first=1).attach(model)
    rows = probe.record(0)
    assert probe.verdicts["fc1"].permanent is None and "no example inputs" in probe.verdicts["fc1"].reason
    assert {r.name for r in rows if r.layer == "fc1"} == {
        "units", "distinct", "largest_group", "grouped_fraction", "rank", "effective_rank"
    }  # fmt: skip


def test_rank_and_effective_rank_of_known_matrices() -> None:
    u, v = torch.randn(6, 1), torch.randn(1, 9)
    assert rank_and_effective_rank(u @ v) == (1, pytest.approx(1.0))
    assert rank_and_effective_rank(torch.zeros(4, 4)) == (0, 0.0)
    assert rank_and_effective_rank(torch.eye(5)) == (5, pytest.approx(5.0))
    p = torch.tensor([2 / 3, 1 / 3])
    entropy = float(-(p * p.log()).sum())
    assert rank_and_effective_rank(torch.diag(torch.tensor([2.0, 1.0, 0.0]))) == (
        2,
        pytest.approx(math.exp(entropy)),
    )
    conv = torch.zeros(3, 2, 3, 3)
    conv[:, 0, 1, 1] = torch.tensor([1.0, 2.0, 3.0])
    assert rank_and_effective_rank(conv)[0] == 1  # flattened to out × in·k·k


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_weights_random_biases_distinct_but_rank_one(activation: str) -> None:
    """Digits, 5-layer width-32 MLP, zero weights and N(0, 1) biases, SGD lr 0.1, 50 steps: no group
    of identical units ever, each weight matrix exactly rank 1 right after its first update, and rank
    ≤ 3 (tanh) or 1 (ReLU) after 50 steps. The same run with Adam is printed next to it."""
    ranks = {}
    for optimizer, lr in (("sgd", 0.1), ("adam", 1e-3)):
        config = RunConfig(
            dataset="digits", model="mlp", model_params={"depth": 5, "width": 32, "activation": activation},
            init="zero-weight-random-bias", optimizer=optimizer, lr=lr, epochs=6,
            probes={"symmetry": {"first": 51, "every": 0}, "update-order": {}},
        )  # fmt: skip
        result = train(config)
        probe = result.probes["symmetry"]
        ranks[optimizer] = pivot(probe.rows, "rank")
        if optimizer == "sgd":
            groups = pivot(probe.rows, "largest_group")
            assert all(size == 1 for layer in groups.values() for size in layer.values())
            changed = result.probes["update-order"].summary()
            for layer, by_step in ranks["sgd"].items():
                first = changed[f"{layer}.weight"]["first_change_step"]
                assert by_step[first] == 0 and by_step[first + 1] == 1, (layer, first)
            after = {layer: by_step[50] for layer, by_step in ranks["sgd"].items()}
            assert all(r <= 3 for r in after.values()) if activation == "tanh" else set(after.values()) == {1}
    for optimizer, table in ranks.items():
        print(f"\n{activation}, {optimizer}: rank per layer at steps 0..50")
        for layer, by_step in table.items():
            print(f"  {layer:5} " + " ".join(f"{int(by_step[s])}" for s in range(51)))


def test_ranks_on_their_own_cadence_and_groups_on_every_record() -> None:
    """``rank=4``: groups at steps 0..9, the SVDs only at steps 0, 4 and 8; ``rank`` from text or TOML
    resolves to the same values."""
    model = apply_init(mlp(), "pytorch-default", torch.Generator().manual_seed(0))
    probe = watch(model, torch.optim.SGD(model.parameters(), lr=0.1), steps=9, rank=4)
    assert sorted({r.step for r in probe.select(name="largest_group")}) == list(range(10))
    assert sorted({r.step for r in probe.select(name="rank")}) == [0, 4, 8]
    assert sorted({r.step for r in probe.select(name="effective_rank", layer="fc1")}) == [0, 4, 8]
    configs = [make_config({"probes": {"symmetry": {"rank": v}}}) for v in ("4", 0)]
    resolved = [resolve_config(config).probes["symmetry"] for config in configs]
    assert [params["rank"] for params in resolved] == [4, 0]
    assert SymmetryProbe(rank=0).rank_every == SymmetryProbe(rank=False).rank_every == 0
    assert ("rank", "bool | int", "True") in PROBES.get("symmetry").param_table()


class _ShortcutAfterBranch(nn.Module):
    """``branch(x) + shortcut(x)`` with the shortcut conv called second (improved-diffusion's ResBlock
    order), the branch's last conv zero: its channels are tied to the shortcut's, which differ."""

    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Conv2d(1, 6, 3, padding=1)
        self.shortcut = nn.Conv2d(1, 6, 1)
        self.head = nn.Linear(6 * 64, 10)
        nn.init.zeros_(self.branch.weight)
        nn.init.zeros_(self.branch.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.branch(x)
        return self.head((h + self.shortcut(x)).flatten(1))


def test_a_zero_branch_tied_to_a_later_shortcut_is_not_permanent() -> None:
    verdict = verdict_at_init(_ShortcutAfterBranch(), "branch")
    assert verdict.largest_group == 6 and not verdict.permanent
    assert "shortcut.weight (incoming) differ" in verdict.reason
