"""The speed options ``compile`` and ``fused_optimizer``: a run with one trains to the plain run's numbers up
to float rounding, records it in its config, and leaves the key of every config without it unchanged."""

from __future__ import annotations

import pytest
import torch

from initlab.config import LATER_FIELDS, PLACEMENT_FIELDS, config_key, make_config
from initlab.records import MemorySink
from initlab.train import RunResult, prepare_run, train


@pytest.mark.parametrize("option", ["compile", "fused_optimizer"])
def test_a_speed_option_keys_only_when_set(option: str) -> None:
    plain = make_config({"epochs": 2})
    assert plain.key() == make_config({"epochs": 2, option: False}).key()
    assert plain.key() == config_key(
        plain.model_dump(mode="json", exclude=PLACEMENT_FIELDS | set(LATER_FIELDS))
    )
    assert make_config({"epochs": 2, option: True}).key() != plain.key()


def digits_run(fields: dict, sink: MemorySink) -> tuple[tuple[list[float], float], RunResult]:
    """Train the digits MLP (depth 3, width 64) for 12 steps on one thread with ``fields``, the loss
    logged every step; return (the logged losses, the final test loss) and the result."""
    config = make_config(
        {"dataset": "digits", "model": "mlp", "model_params": {"depth": 3, "width": 64},
         "epochs": 2, "max_steps": 12, "log_every": 1, **fields}
    )  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(config, sink=sink)
    finally:
        torch.set_num_threads(threads)
    losses = [r.value for r in sink.metrics[result.id] if r.name == "batch_loss"]
    return (losses, result.summary["test_loss"]), result


@pytest.mark.parametrize(
    "optimizer", [{"optimizer": "adam"}, {"optimizer": "adamw", "weight_decay": 0.1},
                  {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}]
)  # fmt: skip
def test_a_fused_optimizer_run_has_the_plain_runs_losses_to_float_rounding(optimizer: dict) -> None:
    """12 steps of Adam, AdamW and SGD with momentum: the fused kernel is the one named in the run's
    record, and every loss and the final test loss agree with the plain run's within 1e-5 relative
    (the same update in float32 with the ops in one pass); the losses are not all equal to each other,
    so the comparison has something to compare."""
    runs = {}
    for fused in (False, True):
        sink = MemorySink()
        runs[fused], _ = digits_run(optimizer | {"fused_optimizer": fused}, sink)
        assert sink.starts[0].config["fused_optimizer"] is fused
    (plain, plain_test), (fused, fused_test) = runs[False], runs[True]
    assert len(plain) == len(fused) == 12 and len(set(plain)) > 6
    assert fused == pytest.approx(plain, rel=1e-5)
    assert fused_test == pytest.approx(plain_test, rel=1e-5)


def test_the_fused_kernel_is_the_one_stepping() -> None:
    """The optimizer a fused run builds has ``fused`` set; a plain run's does not."""
    for fused in (False, True):
        setup = prepare_run(make_config({"dataset": "digits", "model": "mlp", "fused_optimizer": fused}))
        optimizer, _ = setup.optimizer(setup.model.parameters())
        assert bool(optimizer.defaults.get("fused")) is fused


@pytest.mark.slow
def test_a_compiled_run_has_the_eager_runs_losses_to_float_rounding() -> None:
    """12 steps with two probes (signal hooks the modules, grad-dist reads the gradients) on every step:
    every loss, the final test loss and every probe value within 1e-5 relative of the eager run's
    (float32 rounding of the same ops fused in another order)."""
    runs, probed = {}, {}
    probes = {"signal": {"first": 12}, "grad-dist": {"first": 12}}
    for compiled in (False, True):
        sink = MemorySink()
        runs[compiled], result = digits_run({"compile": compiled, "probes": probes}, sink)
        assert sink.starts[0].config["compile"] is compiled
        probed[compiled] = [
            (r.step, r.layer, r.name, r.value) for p in result.probes.values() for r in p.rows
        ]
    (losses, final), (compiled_losses, compiled_final) = runs[False], runs[True]
    assert len(compiled_losses) == len(losses) == 12
    assert compiled_losses == pytest.approx(losses, rel=1e-5)
    assert compiled_final == pytest.approx(final, rel=1e-5)
    assert [r[:3] for r in probed[True]] == [r[:3] for r in probed[False]] and len(probed[True]) > 100
    assert [r[3] for r in probed[True]] == pytest.approx([r[3] for r in probed[False]], rel=1e-5, abs=1e-9)
