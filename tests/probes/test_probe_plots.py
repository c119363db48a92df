"""Figures drawn from tidy rows, as ``initlab inspect --plot`` and reports draw them."""

from __future__ import annotations

from pathlib import Path

import torch

from initlab import apply_init, build_model
from initlab.probes import GradDistProbe, SignalProbe, UpdateOrderProbe, run_probes
from initlab.probes.plots import activation_layers, inspect_figure, save_figure
from probe_helpers import digits_batches


def test_inspect_figure_from_rows(tmp_path: Path) -> None:
    model = build_model("mlp", input_shape=(1, 8, 8), depth=4, width=16, activation="tanh")
    apply_init(model, "zero-weight-random-bias", torch.Generator().manual_seed(0))
    probes = [SignalProbe(first=4), GradDistProbe(first=4), UpdateOrderProbe(first=4)]
    run_probes(model, probes, digits_batches(4), optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    signal, grads, order = (p.rows for p in probes)
    events = probes[2].events  # the events seen, apart from the `first=` schedule parameter
    assert events["fc1.weight"]["first_change_step"] == 3 and probes[2].schedule.first == 4
    assert activation_layers(signal) == ["act1", "act2", "act3"]
    fig = inspect_figure(signal, grads, order, title="zero weights, random biases")
    axes = fig.get_axes()
    assert len(axes) == 5  # four panels and the update-order colour bar
    heat = axes[3].get_images()[0].get_array()
    assert heat.shape == (8, 4)  # 8 parameter tensors × 4 steps
    assert heat.mask[0, :3].all() and not heat.mask[0, 3]  # fc1.weight first changes at step 3
    path = save_figure(fig, tmp_path / "out" / "inspect.png")
    assert path.stat().st_size > 10_000
