"""The jacobian probe: singular values of the input-output Jacobian, exact and sketched."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab import apply_init, build_model
from initlab.probes import JacobianProbe
from initlab.probes.table import at_step
from probe_helpers import digits_batches


def test_a_linear_network_has_the_product_of_its_weights_as_jacobian() -> None:
    model = build_model("mlp", input_shape=(1, 8, 8), depth=3, width=32, activation="identity")
    apply_init(model, "pytorch-default", torch.Generator().manual_seed(0))
    x = digits_batches(1)[0][0]
    probe = JacobianProbe().attach(model, inputs=x)
    sv, mean_sq = probe.singular_values()
    product = (model.head.weight @ model.fc2.weight @ model.fc1.weight).detach().double()
    expected = torch.linalg.svdvals(product)
    assert sv.shape == (8, 10)
    assert torch.allclose(sv, expected.expand(8, -1), rtol=1e-5, atol=1e-9)
    assert mean_sq == pytest.approx(float(expected.square().mean()), rel=1e-5)
    row = at_step(probe.record(0), 0)["model"]
    assert row["max_sv"] == pytest.approx(float(expected.max()), rel=1e-5)
    assert row["min_sv"] == pytest.approx(float(expected.min()), rel=1e-5)
    assert row["std_sq_sv"] == pytest.approx(float(expected.square().expand(8, -1).std()), rel=1e-4)


def test_it_leaves_the_model_its_gradients_and_its_mode_alone() -> None:
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10)
    )
    model.train()
    x = digits_batches(1)[0][0]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    JacobianProbe().attach(model, inputs=x).record(0)
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)


def test_random_projections_estimate_the_mean_squared_singular_value() -> None:
    """200 outputs sketched with 64 random orthonormal directions, against the exact Jacobian."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 200))
    x = digits_batches(1)[0][0]
    exact = JacobianProbe(max_outputs=200).attach(model, inputs=x).singular_values()[1]
    estimates = [
        JacobianProbe(max_outputs=64, projections=64, seed=s).attach(model, inputs=x).singular_values()[1]
        for s in range(8)
    ]
    mean = sum(estimates) / len(estimates)
    spread = (sum((e - mean) ** 2 for e in estimates) / (len(estimates) - 1)) ** 0.5
    print(f"exact mean σ² {exact:.4g}; sketched {mean:.4g} ± {spread:.2g} (8 sketches)")
    assert abs(mean - exact) <= 6 * spread / len(estimates) ** 0.5 + 1e-12
    assert all(abs(e - exact) < 0.5 * exact for e in estimates)


def test_it_needs_a_batch() -> None:
    with pytest.raises(RuntimeError, match="needs a batch"):
        JacobianProbe().attach(nn.Linear(3, 2)).record(0)
