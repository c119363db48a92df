"""``compile=true``: the run trains through ``torch.compile`` with the eager run's numbers up to float
rounding, records it in its config, and leaves the key of every config without it unchanged."""

from __future__ import annotations

import pytest
import torch

from initlab.config import LATER_FIELDS, PLACEMENT_FIELDS, config_key, make_config
from initlab.records import MemorySink
from initlab.train import train


def test_compile_keys_only_when_set() -> None:
    plain = make_config({"epochs": 2})
    assert plain.key() == make_config({"epochs": 2, "compile": False}).key()
    assert plain.key() == config_key(
        plain.model_dump(mode="json", exclude=PLACEMENT_FIELDS | set(LATER_FIELDS))
    )
    assert make_config({"epochs": 2, "compile": True}).key() != plain.key()


@pytest.mark.slow
def test_a_compiled_run_has_the_eager_runs_losses_to_float_rounding() -> None:
    """Digits MLP (depth 3, width 64, Adam), 12 steps with the loss logged every step and two probes
    (signal hooks the modules, grad-dist reads the gradients) on every step: every loss, the final
    test loss and every probe value within 1e-5 relative of the eager run's (float32 rounding of the
    same ops fused in another order)."""
    losses, finals, probed = {}, {}, {}
    for compiled in (False, True):
        config = make_config(
            {"dataset": "digits", "model": "mlp", "model_params": {"depth": 3, "width": 64},
             "epochs": 2, "max_steps": 12, "log_every": 1, "compile": compiled,
             "probes": {"signal": {"first": 12}, "grad-dist": {"first": 12}}}
        )  # fmt: skip
        sink = MemorySink()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            result = train(config, sink=sink)
        finally:
            torch.set_num_threads(threads)
        assert sink.starts[0].config["compile"] is compiled
        rows = sink.metrics[result.id]
        losses[compiled] = [r.value for r in rows if r.name == "batch_loss"]
        finals[compiled] = result.summary["test_loss"]
        probed[compiled] = [
            (r.step, r.layer, r.name, r.value) for p in result.probes.values() for r in p.rows
        ]
    assert len(losses[True]) == len(losses[False]) == 12
    assert losses[True] == pytest.approx(losses[False], rel=1e-5)
    assert finals[True] == pytest.approx(finals[False], rel=1e-5)
    assert [r[:3] for r in probed[True]] == [r[:3] for r in probed[False]] and len(probed[True]) > 100
    assert [r[3] for r in probed[True]] == pytest.approx([r[3] for r in probed[False]], rel=1e-5, abs=1e-9)
