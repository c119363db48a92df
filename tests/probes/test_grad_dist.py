"""The grad-dist probe: true quantiles (not histogram edges), norms and exact zeros of weight gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from initlab import apply_init, build_model
from initlab.probes import GradDistProbe
from initlab.probes.grad_dist import QUANTILE_NAMES, QUANTILES, exact_quantiles
from initlab.probes.table import at_step
from probe_helpers import digits_batches


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 4099])
def test_exact_quantiles_equal_numpys(n: int) -> None:
    x = torch.randn(n, generator=torch.Generator().manual_seed(n))
    x[: n // 3] = 0.0  # ties
    expected = np.quantile(x.double().numpy(), QUANTILES)
    assert exact_quantiles(x) == pytest.approx(expected.tolist(), rel=1e-12, abs=0)


def test_gradient_rows_of_a_real_backward_pass() -> None:
    model = build_model("mlp", input_shape=(1, 8, 8), depth=3, width=32)
    apply_init(model, "pytorch-default", torch.Generator().manual_seed(0))
    x, y = digits_batches(1, batch_size=128)[0]
    probe = GradDistProbe().attach(model)
    F.cross_entropy(model(x), y).backward()
    table = at_step(probe.record(0), 0)
    assert list(table) == ["fc1", "fc2", "head"]
    for layer, module in (("fc1", model.fc1), ("head", model.head)):
        grad = module.weight.grad.double()
        reference = np.quantile(grad.numpy(), QUANTILES)
        assert [table[layer][k] for k in QUANTILE_NAMES] == pytest.approx(
            reference.tolist(), rel=1e-6, abs=1e-12
        )
        assert table[layer]["norm"] == pytest.approx(float(grad.norm()), rel=1e-6)
        assert table[layer]["zero_fraction"] == float((grad == 0).double().mean())
    # digits' border pixels are 0 in every image, so whole columns of fc1's gradient are exactly 0
    assert table["fc1"]["zero_fraction"] >= float((x.flatten(1) == 0).all(0).double().mean())


def test_zero_weights_give_exactly_zero_hidden_gradients() -> None:
    model = build_model("mlp", input_shape=(1, 8, 8), depth=3, width=32)
    apply_init(model, "zero-weight-random-bias", torch.Generator().manual_seed(0))
    x, y = digits_batches(1)[0]
    probe = GradDistProbe().attach(model)
    F.cross_entropy(model(x), y).backward()
    table = at_step(probe.record(0), 0)
    assert table["fc1"]["zero_fraction"] == table["fc2"]["zero_fraction"] == 1.0
    assert table["fc1"]["max"] == table["fc1"]["min"] == table["fc1"]["norm"] == 0.0
    assert table["head"]["zero_fraction"] < 1.0 and table["head"]["norm"] > 0
