"""The residual-zero study on a tiny real grid (sklearn digits; resnet-8 of width 4, a constant-init
conv net and MLP): the symmetry verdicts that must hold, that claims carry the store's numbers, and
the report (the prose's dependence on the verdicts: ``test_residual_zero_text.py``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.store import Store
from initlab.studies import get_study, report_study, run_study
from initlab.studies.residual_zero import RESNET_SCHEMES, Part, layers_of, sweeps

SCHEMES = [
    s
    for s in RESNET_SCHEMES
    if s["init"] in ("zeros", "pytorch-default", "zero-last-layer", "fixup", "rezero", "skipinit")
    and s["model_params"]["norm"] == "none"
]
TINY_RESNET = Part(
    "resnet8",
    "digits",
    2,
    1_137,
    300,
    2,
    {"scheme": [*SCHEMES, {"init": "constant", "model_params": {"norm": "none"}}]},
    {"model": "resnet-cifar", "model_params": {"depth": 8, "width": 4, "shortcut": "conv"}},
)
TINY_MLP = Part(
    "mlp", "digits", 2, 1_137, 300, 2, {"init": ["constant", "pytorch-default"]}, {"model": "mlp", "lr": 0.01}
)


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    tiny = [TINY_RESNET.sweep(), TINY_MLP.sweep()]
    study = dataclasses.replace(get_study("residual-zero"), sweeps=lambda preset: tiny)
    store = tmp_path_factory.mktemp("residual-zero") / "runs.db"
    summary = run_study(study, "full", store, workers=1, threads=1)
    assert summary.runs == 18
    with pytest.MonkeyPatch.context() as patch:
        clipped = collect_clipped_titles(patch)
        result = report_study(study, "full", store)
    assert clipped == [], f"figure titles cut off: {clipped}"
    return store, result


def test_presets_use_option_b_shortcuts_and_both_probes() -> None:
    for preset in ("quick", "full"):
        parts = {part["name"]: part for part in sweeps(preset)}
        resnet = next(p for name, p in parts.items() if name.startswith("resnet20"))
        assert resnet["base"]["model_params"] == {"depth": 20, "shortcut": "conv"}
        assert {s["init"] for s in resnet["axes"]["scheme"]} == {
            "zeros", "pytorch-default", "zero-last-layer", "fixup", "rezero", "skipinit", "zero-last-norm",
        }  # fmt: skip
        for part in parts.values():
            probes = part["base"]["probes"]
            steps = -(-part["base"]["train_size"] // part["base"]["batch_size"])
            assert probes["symmetry"]["every"] == steps  # records the end of every epoch, the last one too
            assert set(probes) == {"symmetry", "update-order"}
    assert {"constant-mnist-cnn", "constant-mnist-fnn"} <= set(parts)


def test_symmetry_verdicts(tiny_study: tuple[Path, Any]) -> None:
    """All-zero and constant init leave permanent groups; zero branch ends and zero gains do not, and
    every weight has a gradient by step 2 (Fixup: step 2, the others step 1)."""
    _, result = tiny_study
    claims = {c.name: c for c in result.claims}
    verdict = {name: c.verdict for name, c in claims.items()}
    at = "digits/resnet-cifar"
    assert verdict[f"zeros-permanent/{at}"] == "holds"
    assert verdict[f"zeros-chance/{at}"] == "holds"
    assert verdict[f"constant-permanent/{at}"] == "holds"
    assert verdict["constant-permanent/digits/mlp"] == "holds"
    for scheme, latest in (("zero-last-layer", 1), ("fixup", 2), ("rezero", 1)):
        assert verdict[f"wakes-up/{at}/{scheme}"] == "holds"
        assert claims[f"wakes-up/{at}/{scheme}"].numbers["latest first-gradient step"] == latest
    # the zero branch ends are groups of identical channels, yet not permanent ones
    assert claims[f"wakes-up/{at}/zero-last-layer"].numbers["largest group of identical units at init"] == 16
    assert claims[f"wakes-up/{at}/zero-last-layer"].numbers["largest permanent group at init"] == 1


def test_claim_numbers_are_the_stored_probe_rows(tiny_study: tuple[Path, Any]) -> None:
    path, result = tiny_study
    claims = {c.name: c for c in result.claims}
    with Store(path) as store:
        zeros = [r for r in store.runs() if r.config["init"] == "zeros"]
        config = zeros[0].config
        hidden = layers_of(config).hidden
        assert len(hidden) == 9  # stem, 3 blocks × 2 convs, 2 projection shortcuts
        for run in zeros:
            rows = {
                (row.step, row.layer, row.name): row.value for _, row in store.probe_rows(run.id, "symmetry")
            }
            last = max(step for step, _, _ in rows)
            for layer in hidden:
                for step in (0, last):
                    assert rows[step, layer, "permanent_largest_group"] == rows[step, layer, "units"] > 1
        fixup = [r for r in store.runs() if r.config["init"] == "fixup"]
        latest = max(
            row.value
            for run in fixup
            for _, row in store.probe_rows(run.id, "update-order", name="first_grad_step")
            if row.layer.endswith(".weight")
        )
        accs = [
            [m.value for m in store.metrics(r.id) if (m.split, m.name) == ("test", "accuracy")][-1]
            for r in zeros
        ]
    numbers = claims["zeros-permanent/digits/resnet-cifar"].numbers
    assert numbers["one permanent group at init"] == numbers["one permanent group at the end"] == 9
    assert claims["wakes-up/digits/resnet-cifar/fixup"].numbers["latest first-gradient step"] == latest
    assert claims["zeros-chance/digits/resnet-cifar"].numbers["best accuracy"] == max(accs)


def test_the_report_answers_the_question(tiny_study: tuple[Path, Any]) -> None:
    _, result = tiny_study
    page = result.path.read_text()
    titles = ("Answer to the question", "Claims", "Symmetry at init and at the end", "Update order")
    at = [page.index(f"<h2>{title}</h2>") for title in titles]
    assert at == sorted(at)  # the report opens with the answer, then the claims behind it
    assert "<h2>Groups of identical units over the steps</h2>" in page
    assert '<a href="../zero-module-full/report.html">' in page  # the diffusion setting's study
    folder = result.path.parent
    symmetry = (folder / "symmetry.csv").read_text().splitlines()
    assert len(symmetry) == 1 + 7 + 2  # 7 ResNet and 2 MLP conditions
    header = (folder / "first_gradient_step_digits_resnet-cifar.csv").read_text().splitlines()[0]
    assert header == "weight,zeros,pytorch-default,zero-last-layer,fixup,rezero,skipinit,constant"
    over_steps = (folder / "groups_over_steps.csv").read_text().splitlines()
    assert len(over_steps) == 1 + 7 + 2


def test_the_zero_layers_fate_over_the_steps_is_the_stored_rows(tiny_study: tuple[Path, Any]) -> None:
    """Every zero last conv of zero-last-layer starts as one group of identical (zero) channels that is
    not permanent; the per-layer table says, for each, what the stored rows show at the last record."""
    path, result = tiny_study
    rows = [
        line.split(",")
        for line in (result.path.parent / "groups_per_layer.csv").read_text().splitlines()[1:]
        if ",zero-last-layer," in line
    ]
    assert {row[3] for row in rows} == {
        "layer1.0.branch.conv2",
        "layer2.0.branch.conv2",
        "layer3.0.branch.conv2",
    }
    with Store(path) as store:
        for run in (r for r in store.runs() if r.config["init"] == "zero-last-layer"):
            stored = {
                (row.step, row.layer, row.name): row.value for _, row in store.probe_rows(run.id, "symmetry")
            }
            last = max(step for step, _, _ in stored)
            for row in (r for r in rows if int(r[2]) == run.seed):
                assert (int(row[5]), int(row[6])) == (int(row[4]), 1)  # all identical at init, not permanent
                assert int(row[7]) == stored[last, row[3], "largest_group"]


def test_identical_conditions_are_labelled_so(tiny_study: tuple[Path, Any]) -> None:
    """Without normalization rezero and skipinit are the same init: their curves coincide, so the
    later one is labelled as identical to the earlier rather than hiding it."""
    _, result = tiny_study
    final = (result.path.parent / "final_test_accuracy_digits_resnet-cifar.csv").read_text()
    assert "init=skipinit (identical to init=rezero)" in final
    assert "init=zero-last-layer (identical" not in final


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    tiny_study: tuple[Path, Any], tmp_path: Path
) -> None:
    _, result = tiny_study
    check_study_page(tmp_path, result.path)
