"""The zero-module study on a tiny real grid (sklearn digits, a U-Net of 8 base channels): the verdicts
that must hold, claims that carry the store's numbers, and the report in the browser (the prose's
dependence on the verdicts: ``test_zero_module_text.py``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.studies import get_study, report_study, run_study
from initlab.studies.presets import Budget, preset_sweep
from initlab.studies.zero_module.grid import GRID, ORDER_STEPS, VARIANTS, WATCHED_STEPS, sweeps

BASE = {
    "dataset": "digits",
    "model": "unet",
    "model_params": {"model_channels": 8, "channel_mult": [1, 2], "attention_resolutions": [2]},
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 64,
}
MECHANICS = preset_sweep(
    "mechanics",
    Budget(2, 1, 128, 64),
    {
        **BASE,
        "task_params": {"eval_size": 64, "sample_count": 0},
        "probes": {
            "symmetry": {"first": WATCHED_STEPS, "every": 4, "rank": True},
            "update-order": {"first": ORDER_STEPS, "every": 4},
        },
    },
    {"variant": [v for v in VARIANTS if v["init"] == "zero-module" and "branch_width" not in str(v)]},
)
TRAINING = preset_sweep(
    "training",
    Budget(1, 2, 128, 64),
    {
        **BASE,
        "task_params": {"eval_size": 64, "sample_count": 0, "sampling_steps": 4},  # Fréchet: tests/tasks
        "probes": {"samples": {"count": GRID}},
    },
    {"init": ["zero-module", "pytorch-default"]},
)


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("zero-module")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INITLAB_DATA", str(folder / "cache"))  # the workers inherit it; nothing is cached
        study = dataclasses.replace(
            get_study("zero-module"),
            sweeps=lambda preset: [MECHANICS, TRAINING],
            prepare=None,
        )
        store = folder / "runs.db"
        summary = run_study(study, "full", store, workers=2, threads=1)
        assert summary.runs == 10 and summary.finished == 10
        clipped = collect_clipped_titles(patch)
        result = report_study(study, "full", store)
    assert clipped == [], f"figure titles cut off: {clipped}"
    return store, result


def test_presets_run_every_variant_with_both_probes_and_train_two_inits() -> None:
    for preset in ("quick", "full"):
        mechanics, training = sweeps(preset)
        assert len(mechanics["axes"]["variant"]) == 9
        assert set(mechanics["base"]["probes"]) == {"symmetry", "update-order"}
        assert mechanics["base"]["task_params"]["sample_count"] == 0
        assert training["axes"]["init"] == ["zero-module", "pytorch-default"]
        assert training["base"]["task_params"]["sample_count"] > 0
    assert (
        sweeps("quick")[0]["base"]["dataset"] == "digits" and sweeps("full")[0]["base"]["dataset"] == "mnist"
    )


def test_the_verdicts_on_real_runs(tiny_study: tuple[Path, Any]) -> None:
    _, result = tiny_study
    verdict = {c.name: c.verdict for c in result.claims}
    for name in (
        "identity-at-init",
        "no-permanent-symmetry",
        "update-order",
        "constant-one-group/adam",
        "constant-one-group/sgd",
        "constant-broken/random biases",
        "constant-broken/dropout",
        "double-zero-stays-zero",
    ):
        assert verdict[name] == "holds", name
    claims = {c.name: c for c in result.claims}
    assert claims["identity-at-init"].numbers["zeroed layers per run"] == 13  # 8 ResBlocks, 4 attention, out
    assert claims["double-zero-stays-zero"].numbers["steps"] == 4
    assert "training/loss" in verdict and "training/frechet" not in verdict  # no Fréchet distance recorded


@needs_chromium
def test_the_report_renders(tiny_study: tuple[Path, Any], tmp_path: Path) -> None:
    _, result = tiny_study
    html = result.path.read_text()
    assert "Answer to the question" in html and "samples.png" in html and "update_order.png" in html
    check_study_page(tmp_path, result.path)
