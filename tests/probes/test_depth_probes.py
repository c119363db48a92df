"""The depth instruments on a decoder transformer LM and on MLPs: grad-profile's norms against autograd,
output-change against a direct before/after computation, its r² scaling, and Admin's amplification."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from initlab import build_model
from initlab.probes import GradProfileProbe, OutputChangeProbe, run_probes
from initlab.probes.depth import layer_groups
from initlab.probes.jacobian import eval_mode
from initlab.probes.table import at_step, layers, pivot
from initlab.step import train_step
from initlab.tasks import cross_entropy
from probe_helpers import digits_batches

VOCAB, T = 17, 16


def decoder(depth: int, norm: str, seed: int = 0, width: int = 32) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(
        "transformer",
        input_shape=(T,),
        num_classes=VOCAB,
        kind="decoder",
        depth=depth,
        width=width,
        norm=norm,
    )


def tokens(seed: int, batch: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token sequences: inputs B×T and next-token targets B×T."""
    x = torch.randint(0, VOCAB, (batch, T + 1), generator=torch.Generator().manual_seed(seed))
    return x[:, :-1], x[:, 1:]


def test_layer_groups_of_a_transformer_are_its_blocks_in_depth_order() -> None:
    groups = layer_groups(decoder(3, "pre"))
    blocks = [f"layers.{i}.{part}" for i in range(3) for part in ("attn", "ffn")]
    assert [g.name for g in groups] == ["embed", "position", *blocks, "norm", "head"]
    assert [g.layer for g in groups[2:-2]] == [1, 1, 2, 2, 3, 3]
    model = decoder(3, "pre")
    assert sum(g.numel for g in layer_groups(model)) == sum(p.numel() for p in model.parameters())


def test_grad_profile_norms_equal_autograd_on_a_decoder_lm() -> None:
    model = decoder(3, "post")
    x, y = tokens(0)
    probe = GradProfileProbe(first=1, every=0)
    run_probes(model, [probe], [(x, y)])  # no optimizer: the gradients at init, step 0
    table = at_step(probe.rows, 0)
    loss = cross_entropy(model(x), y).sum()
    for name in ("layers.0.attn", "layers.2.ffn", "head", "embed"):
        params = list(model.get_submodule(name).parameters())
        grads = torch.autograd.grad(loss, params, retain_graph=True)
        expected = torch.cat([g.flatten() for g in grads]).double().norm()
        assert table[name]["grad_norm"] == pytest.approx(float(expected), rel=1e-5)
        count = sum(p.numel() for p in params)
        assert table[name]["grad_rms"] == pytest.approx(table[name]["grad_norm"] / count**0.5, rel=1e-12)
    assert table["layers.2.ffn"]["layer"] == 3.0 and "layer" not in table["head"]


def test_grad_profile_of_an_mlp_in_a_run_is_per_module() -> None:
    from initlab.config import RunConfig
    from initlab.train import train

    config = RunConfig(dataset="digits", model="mlp", model_params={"depth": 3, "width": 16}, epochs=1,
                       probes={"grad-profile": {"first": 2, "every": 0}})  # fmt: skip
    rows = train(config).probes["grad-profile"].rows
    assert layers(rows) == ["fc1", "fc2", "head"] and sorted(pivot(rows, "grad_norm")["fc1"]) == [0, 1]


def test_output_change_of_the_update_equals_a_direct_before_after_computation() -> None:
    x, y = tokens(1)
    probed, plain = decoder(2, "post"), decoder(2, "post")
    probe = OutputChangeProbe(first=1, every=0, samples=8)
    run_probes(probed, [probe], [(x, y)], optimizer=torch.optim.Adam(probed.parameters(), lr=1e-3))
    with eval_mode(plain), torch.no_grad():
        before = plain(x[:8]).double()
    optimizer = torch.optim.Adam(plain.parameters(), lr=1e-3)
    plain.train()
    train_step(plain, x, y, cross_entropy, optimizer)
    with eval_mode(plain), torch.no_grad():
        after = plain(x[:8]).double()
    for a, b in zip(plain.parameters(), probed.parameters(), strict=True):
        assert torch.equal(a, b)  # the probe's forward passes and perturbation left the run alone
    expected = float((after - before).flatten(1).square().sum(1).mean())
    rows = at_step(probe.rows, 0)["model"]
    assert rows["update_change"] == pytest.approx(expected, rel=1e-9)
    assert rows["output_sq"] == pytest.approx(float(before.flatten(1).square().sum(1).mean()), rel=1e-9)
    assert rows["update_change_relative"] == pytest.approx(expected / rows["output_sq"], rel=1e-12)


def test_the_perturbation_change_is_quadratic_in_its_size_and_reproducible() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10)).double()
    x = digits_batches(1)[0][0].double()
    change = {}
    for r in (1e-2, 1e-3, 1e-4):
        probe = OutputChangeProbe(relative_size=r, seed=3).attach(model, inputs=x)
        change[r] = at_step(probe.record(0), 0)["model"]["perturbation_change"]
    assert change[1e-2] / change[1e-3] == pytest.approx(100, rel=0.05)
    assert change[1e-3] / change[1e-4] == pytest.approx(100, rel=0.005)  # closer to linear as r → 0
    again = OutputChangeProbe(relative_size=1e-3, seed=3).attach(model, inputs=x).record(0)
    assert at_step(again, 0)["model"]["perturbation_change"] == change[1e-3]
    other = OutputChangeProbe(relative_size=1e-3, seed=4).attach(model, inputs=x).record(0)
    assert at_step(other, 0)["model"]["perturbation_change"] != change[1e-3]


def test_per_layer_perturbations_cover_every_group_and_leave_the_weights_bitwise() -> None:
    model = decoder(2, "pre")
    saved = copy.deepcopy(model.state_dict())
    x, _ = tokens(2)
    rows = OutputChangeProbe(per_layer=True, seed=0).attach(model, inputs=x).record(0)
    assert layers(rows) == ["model", *(g.name for g in layer_groups(model))]
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
    assert all(r.value > 0 for r in rows if r.name == "perturbation_change")


def test_admin_post_ln_amplifies_with_depth_and_pre_ln_hardly() -> None:
    """Liu et al. 2020 (Admin): output change O(N) for post-LN, O(log N) for pre-LN. From depth 2 to 8,
    the perturbation's relative output change grows about 4× in post-LN and under 1.5× in pre-LN
    (measured 3.2–5.6× and 1.1–1.3× over three seeds)."""
    growth: dict[str, list[float]] = {"post": [], "pre": []}
    for seed in (0, 1):
        x, y = tokens(seed)
        for norm in growth:
            change = []
            for depth in (2, 8):
                model = decoder(depth, norm, seed)
                probe = OutputChangeProbe(first=1, every=0, seed=seed)
                run_probes(model, [probe], [(x, y)], optimizer=torch.optim.Adam(model.parameters(), lr=1e-3))
                change.append(at_step(probe.rows, 0)["model"]["perturbation_change_relative"])
            growth[norm].append(change[1] / change[0])
    assert min(growth["post"]) > 2.5 and max(growth["pre"]) < 1.6
    assert min(growth["post"]) > 2 * max(growth["pre"])


def test_pre_ln_gradients_are_larger_in_the_early_layers_at_init() -> None:
    """NormFormer (Shleifer et al. 2021, Fig. 2): in a pre-LN transformer at init the early layers get
    larger gradients than the later ones. Per transformer layer (both its blocks, grouped by the
    ``layer`` rows), ‖∂L/∂θ‖ of layers 1–4 over layers 5–8 of an 8-layer decoder: measured 1.03–1.20
    over ten seeds."""
    for seed in (0, 1, 2):
        model = decoder(8, "pre", seed)
        x, y = tokens(seed)
        probe = GradProfileProbe(first=1, every=0)
        run_probes(model, [probe], [(x, y)])
        table = at_step(probe.rows, 0)
        per_layer = [0.0] * 8
        for values in table.values():
            if "layer" in values:
                per_layer[int(values["layer"]) - 1] += values["grad_norm"] ** 2
        assert all(v > 0 for v in per_layer)
        assert (sum(per_layer[:4]) / sum(per_layer[4:])) ** 0.5 > 1.0


def test_a_first_batch_output_change_measures_the_same_inputs_at_every_step() -> None:
    """With a zero learning rate the weights never move: on the first batch throughout, E‖F‖² is the
    same number at every step and the update changes nothing; on each step's own batch it varies."""
    sq = {}
    for batch in ("first", "step"):
        torch.manual_seed(0)
        model = build_model("mlp", input_shape=(1, 8, 8), depth=3, width=32)
        probe = OutputChangeProbe(first=3, every=0, batch=batch)
        run_probes(model, [probe], digits_batches(3), optimizer=torch.optim.SGD(model.parameters(), lr=0.0))
        sq[batch] = [v for _, v in sorted(pivot(probe.rows, "output_sq")["model"].items())]
        assert set(pivot(probe.rows, "update_change")["model"].values()) == {0.0}
    assert len(sq["first"]) == 3 and len(set(sq["first"])) == 1 and len(set(sq["step"])) == 3
    assert sq["step"][0] == sq["first"][0]
