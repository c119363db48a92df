"""The structure examples run, and show what they say they show."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_audit_hf_gpt2_example_passes_hf_init_and_catches_the_skipped_c_proj_scaling() -> None:
    pytest.importorskip("transformers")
    main = runpy.run_path(str(EXAMPLES / "audit_hf_gpt2.py"))["main"]
    result, error = main(layers=2)
    assert result.failures == [] and result.missing == []
    c_proj = [r for r in result.rows if r.name.endswith("c_proj.weight")]
    assert len(c_proj) == 4 and all(r.role == "branch-last" for r in c_proj)
    assert error.startswith("4 parameters do not have 'gpt2''s init: transformer.h.0.attn.c_proj.weight")


def test_fixup_on_own_resnet_example_zeroes_branch_ends_whose_units_then_separate() -> None:
    at_init, after = runpy.run_path(str(EXAMPLES / "fixup_own_resnet.py"))["main"](steps=3)
    assert sorted(at_init) == ["blocks.0.conv2", "blocks.1.conv2", "blocks.2.conv2"]
    for verdict in at_init.values():
        assert verdict.distinct == 1 and verdict.largest_group == verdict.units == 8
        assert verdict.permanent is False
    assert all(v.distinct == v.units for v in after.values())


def test_sweep_over_own_model_example_records_the_import_path_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from initlab.store import Store

    monkeypatch.chdir(EXAMPLES.parent)  # as the README runs it: `examples` is found from the repository
    main = runpy.run_path(str(EXAMPLES / "sweep_own_model.py"))["main"]
    store = tmp_path / "own.db"
    summary, accuracy = main(store)
    assert (summary.runs, summary.finished, summary.failed) == (4, 4, 0)
    assert sorted(accuracy) == ["pytorch-default/s0", "pytorch-default/s1", "zero-last-layer/s0",
                                "zero-last-layer/s1"]  # fmt: skip
    assert all(a > 0.3 for a in accuracy.values())  # 10 classes of digits: chance is 0.1
    with Store(store, create=False) as db:
        configs = [r.config for r in db.runs(sweep="own-model")]
    assert {c["model"] for c in configs} == {"examples.my_models:SmallResNet"}
    assert len({c["model_source"] for c in configs}) == 1 and configs[0]["model_source"]
    again, _ = main(store)
    assert (again.skipped, again.ran) == (4, 0)
