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
