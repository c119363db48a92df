"""What the instruments show on ResNets whose branches start at zero (Fixup, improved-diffusion's
``zero_module``): the zero layers are no permanent symmetry, and they wake up within two steps."""

from __future__ import annotations

import pytest
import torch

from initlab import apply_init, build_model
from initlab.probes import SymmetryProbe, UpdateOrderProbe, run_probes
from probe_helpers import digits_batches


def probed_resnet(scheme: str, **model_params: object) -> tuple[UpdateOrderProbe, SymmetryProbe]:
    """resnet-20 without norm layers on digits, 4 SGD steps with both probes on every step."""
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=20, norm="none", **model_params)
    apply_init(model, scheme, torch.Generator().manual_seed(0))
    order, symmetry = UpdateOrderProbe(first=4, every=0), SymmetryProbe(first=1, every=0, rank=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    run_probes(model, [order, symmetry], digits_batches(4), optimizer=optimizer)
    return order, symmetry


@pytest.mark.parametrize(("scheme", "params"), [("fixup", {"fixup": True}), ("zero-last-layer", {})])
def test_zero_branch_ends_are_not_a_permanent_symmetry(scheme: str, params: dict) -> None:
    order, symmetry = probed_resnet(scheme, **params)
    zero_layers = [layer for layer in symmetry.verdicts if layer.endswith("branch.conv2")]
    assert len(zero_layers) == 9
    for layer in zero_layers:
        verdict = symmetry.verdicts[layer]
        assert not verdict.permanent, (layer, verdict.reason)
        print(f"{scheme} {layer}: {verdict.reason}")
    late = {name: s["first_grad_step"] for name, s in order.summary().items() if name.endswith("weight")}
    assert all(step is not None and step <= 2 for step in late.values()), late


def test_fixup_wakes_up_from_the_head_back_under_sgd() -> None:
    """Head at step 0; stem and the zero branch ends at step 1; the layers before them get gradients at
    step 2. Each branch multiplier's first gradient (step 2) is too small to change a float32 1.0."""
    order, _ = probed_resnet("fixup", fixup=True)
    first = order.summary()
    assert first["head.fc.weight"]["first_change_step"] == 0
    assert first["stem.conv.weight"]["first_change_step"] == 1
    branches = [name.removesuffix(".conv2.weight") for name in first if name.endswith("branch.conv2.weight")]
    for branch in branches:
        assert first[f"{branch}.conv2.weight"]["first_change_step"] == 1
        assert first[f"{branch}.conv1.weight"]["first_grad_step"] == 2
        assert first[f"{branch}.scale.scale"]["first_grad_step"] == 2
        assert first[f"{branch}.scale.scale"]["first_change_step"] is None  # |lr·g| < ulp(1)/2
