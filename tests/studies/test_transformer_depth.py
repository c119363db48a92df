"""The transformer-depth study on a cut-down grid run through the CLI (tiny decoders on shakespeare-char,
every variant and part): its grid, its verdicts and that they are the store's numbers, the words that
follow the verdicts, its statistics, and its report."""

from __future__ import annotations

import contextlib
import html
import io
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from browser import check_study_page, collect_clipped_titles, needs_chromium
from initlab.cli.app import main
from initlab.report import Claim, load_runs
from initlab.store import Store
from initlab.studies import StudyRuns, get_study
from initlab.studies.transformer_depth import grid, text
from initlab.studies.transformer_depth.claims import onset_depth, training_claims
from initlab.studies.transformer_depth.facts import RunFacts, layer_spread, study_facts
from initlab.studies.transformer_depth.growth import loglog_slope, slope_difference
from initlab.studies.transformer_depth.init_claims import init_claims
from initlab.studies.transformer_depth.outcome import TRAINED_BPC, WORSE_BY, outcome
from initlab.sweep import expand

#: One seed of 4 steps for the training parts; the one-step runs at depths 1, 2, 4 with 2 seeds (6 points).
TINY = grid.Sizes(
    width=8,
    heads=2,
    context=8,
    batch_size=4,
    eval_windows=4,
    lr=3e-3,
    steps=4,
    eval_every=2,
    warmup=2,
    seeds=1,
    depths=(1, 2),
    clone_depth=2,
    amplified_depths=(1, 2, 4),
    amplified_seeds=2,
    clone_every=2,
)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:
    """``initlab study run transformer-depth --preset quick`` on the tiny sizes: (store, stdout, report)."""
    folder = tmp_path_factory.mktemp("transformer-depth")
    store = folder / "r.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grid, "SIZES", {"quick": TINY, "full": TINY})
        clipped = collect_clipped_titles(patch)
        args = ["study", "run", "transformer-depth", "--preset", "quick", "--workers", "1", "--threads", "1"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main([*args, "--store", str(store)])
        assert status == 0, out.getvalue()
        assert clipped == [], f"figure titles cut off: {clipped}"
        yield store, out.getvalue(), folder / "studies" / "transformer-depth-quick" / "report.html"


def stored(store_path: Path) -> list[RunFacts]:
    with Store(store_path) as store:
        return study_facts(StudyRuns(store, "quick", load_runs(store)))


def claims_of(facts: list[RunFacts]) -> dict[str, Claim]:
    return {c.name: c for c in [*training_claims(facts), *init_claims(facts)]}


def test_the_grid_runs_every_variant_and_finds_it_again() -> None:
    specs = get_study("transformer-depth").specs("quick")
    assert [s.name.rsplit("/", 1)[1] for s in specs] == ["depth", "schemes", "clones", "amplification"]
    found = {
        name: [grid.variant_of(c.model_dump()) for c in expand(s)]
        for s, name in zip(specs, "dsca", strict=True)
    }
    assert set(found["d"]) == {"post-ln", "pre-ln"} and len(found["d"]) == 3 * 3 * 2
    assert set(found["s"]) == {*grid.SCHEMES, "normformer", "gpt2", "normal-0.02"}
    assert set(found["c"]) == {"torch-clones", "torch-reset"}
    assert found["a"].count("normformer") == 5 * 4 and None not in found["a"]
    warm = {c.warmup_steps for c in expand(specs[0]) if grid.variant_of(c.model_dump()) == "post-ln"}
    assert warm == {0, 100}
    assert {c.max_steps for c in expand(specs[3])} == {1} and {c.max_steps for c in expand(specs[1])} == {300}
    assert {c.model_params["depth"] for c in expand(get_study("transformer-depth").specs("full")[1])} == {48}


def test_the_cli_prints_the_claims_and_they_are_the_stored_numbers(study: tuple[Path, str, Path]) -> None:
    store_path, out, report = study
    facts = stored(store_path)
    assert len(facts) == 3 * 2 + 8 + 2 + 4 * 3 * 2
    claims = claims_of(facts)
    counts = {v: sum(c.verdict == v for c in claims.values()) for v in ("holds", "fails", "inconclusive")}
    assert ", ".join(f"{n} {v}" for v, n in counts.items()) in out and report.is_file()
    # the output-change slope is the least-squares fit of the stored probe rows
    with Store(store_path) as store:
        points = [
            (f.run.record.config["model_params"]["depth"], rows[0][1].value)
            for f in facts
            if f.part == "amplification" and f.variant == "post-ln"
            for rows in [store.probe_rows(f.run.id, "output-change", name="perturbation_change_relative")]
        ]
    fit = stats.linregress(np.log([d for d, _ in points]), np.log([v for _, v in points]))
    post = claims["amplification/post-ln"]
    assert post.numbers["points"] == 6 and post.numbers["slope"] == pytest.approx(fit.slope)
    # nn.TransformerEncoder's layers are bitwise copies at step 0 (spread exactly 0), re-initialised not
    assert claims["clones-identical-at-init"].verdict == "holds"
    assert claims["clones-identical-at-init"].numbers["clones' spread at init"] == 0.0
    # each training claim's bpc is the run's last stored val_bpc
    deepnorm = [f for f in facts if f.variant == "deepnorm"]
    assert claims["trains-without-warmup/deepnorm"].numbers["val bpc"] == pytest.approx(
        deepnorm[0].run.final("val_bpc")
    )


def trained(facts: list[RunFacts]) -> list[RunFacts]:
    """The tiny runs rewritten as a deep post-LN failure: pre-LN and everything else at 3.6 bpc, post-LN
    without warm-up diverged at depth 2, rescued by warm-up."""
    out = []
    for f in facts:
        last = max(f.bpc)
        if f.variant == "post-ln" and f.depth == 2 and not f.warmup:
            out.append(replace(f, diverged=True))
        else:
            out.append(replace(f, bpc={**f.bpc, last: 3.6 if f.variant != "pre-ln" else 3.5}))
    return out


def test_the_verdicts_and_words_change_when_the_data_does(study: tuple[Path, str, Path]) -> None:
    facts = trained(stored(study[0]))
    claims = claims_of(facts)
    assert claims["post-ln-fails-with-depth"].verdict == "holds"
    assert claims["post-ln-fails-with-depth"].numbers["onset depth"] == 2
    assert claims["warmup-rescues-post-ln"].verdict == "holds"
    words = text.post_ln_text(claims)
    assert words.startswith("Post-LN without warm-up fails from depth 2 on") and "rescues it" in words
    assert all(claims[f"trains-without-warmup/{s}"].verdict == "holds" for s in grid.SCHEMES)
    # warm-up does not rescue it, and DeepNorm diverges
    worse = [
        replace(f, diverged=True)
        if (f.variant == "post-ln" and f.depth == 2) or f.variant == "deepnorm"
        else f
        for f in facts
    ]
    claims = claims_of(worse)
    assert claims["warmup-rescues-post-ln"].verdict == "fails"
    assert "does not rescue it at any failing depth (2)" in text.post_ln_text(claims)
    assert claims["trains-without-warmup/deepnorm"].verdict == "fails"
    assert "fail: deepnorm" in text.scheme_text(claims)
    # ReZero under 4.0 bpc at step 2, pre-LN only at the end, post-LN never; then ReZero never
    paced = [
        replace(f, bpc={0: 6.0, 2: 3.9, 4: 3.8})
        if f.variant == "rezero"
        else replace(f, bpc={0: 6.0, 2: 4.5, 4: 4.2 if f.variant == "post-ln" else 3.9})
        for f in facts
    ]
    claims = claims_of(paced)
    assert claims["rezero-faster/post-ln"].verdict == "holds"
    assert claims["rezero-faster/pre-ln"].numbers["ratio"] == pytest.approx(2 / 4)
    assert claims["rezero-faster/pre-ln"].verdict == "inconclusive"  # 1 seed: no interval
    assert "faster than post-ln (ReZero 2 steps, post-ln never)" in text.rezero_text(claims)
    slow = [replace(f, bpc={0: 6.0, 4: 4.5}) if f.variant == "rezero" else f for f in paced]
    assert claims_of(slow)["rezero-faster/pre-ln"].verdict == "fails"
    # post-LN trains everywhere: Xiong's effect absent
    flat = [replace(f, diverged=False, bpc={**f.bpc, max(f.bpc): 3.6}) for f in facts]
    assert claims_of(flat)["post-ln-fails-with-depth"].verdict == "fails"
    assert "does not show here" in text.post_ln_text(claims_of(flat))


def test_the_amplification_and_clone_verdicts_follow_the_data(study: tuple[Path, str, Path]) -> None:
    facts = stored(study[0])
    rng = np.random.default_rng(0)
    exponent = {"post-ln": 1.0, "pre-ln": 0.1, "deepnorm": 0.0, "normformer": 0.1}
    shaped = [
        replace(
            f, output_change=1e-6 * f.depth ** exponent[f.variant] * math.exp(0.01 * rng.standard_normal())
        )
        if f.part == "amplification"
        else f
        for f in facts
    ]
    claims = claims_of(shaped)
    assert claims["amplification/post-ln"].verdict == "holds"
    assert claims["amplification/pre-ln"].verdict == "holds"
    assert "grows about linearly" in text.amplification_text(
        claims
    ) and "much slower" in text.amplification_text(claims)
    # the first Adam update: DeepNorm's 100× smaller than post-LN's at the deepest depth, then as large
    damped = [
        replace(
            f, update_change=1e-4 * (1 + 0.01 * f.seed) if f.variant == "deepnorm" else 1e-2 + 1e-4 * f.seed
        )
        if f.part == "amplification"
        else f
        for f in shaped
    ]
    assert len([f for f in damped if f.part == "amplification" and f.depth == 4]) == 4 * 2
    first = claims_of(damped)["first-update/deepnorm"]
    assert first.numbers["post-LN / it"] == pytest.approx(100, rel=0.05)
    assert first.verdict == "inconclusive"  # 2 seeds: too few for an interval
    constant = [replace(f, output_change=1e-6) if f.part == "amplification" else f for f in shaped]
    assert claims_of(constant)["amplification/post-ln"].verdict == "fails"
    # copies that differ at step 0 are not copies; copies that never move do not separate
    unequal = [
        replace(
            f,
            weight_norms={
                **f.weight_norms,
                0: {k: v * (1 + 0.1 * i) for i, (k, v) in enumerate(f.weight_norms[0].items())},
            },
        )
        if f.variant == "torch-clones"
        else f
        for f in facts
    ]
    assert claims_of(unequal)["clones-identical-at-init"].verdict == "fails"
    frozen = [
        replace(f, weight_norms={s: f.weight_norms[0] for s in f.weight_norms})
        if f.variant == "torch-clones"
        else f
        for f in facts
    ]
    assert claims_of(frozen)["clones-separate"].verdict == "fails"
    assert "stay identical" in text.clones_text(claims_of(frozen))


def test_the_report_states_the_answers_from_the_verdicts(study: tuple[Path, str, Path]) -> None:
    store_path, _, report = study
    claims = claims_of(stored(store_path))
    page = report.read_text()
    for sentence in text.answer_text(claims):
        assert html.escape(sentence) in page
    assert page.index("The answer") < page.index("Training at depth") < page.index("At init")
    for name in (
        "bpc_curves.png",
        "failure_depth.png",
        "output_change.png",
        "grad_profile.png",
        "clones.png",
    ):
        assert (report.parent / name).is_file()


def test_the_statistics() -> None:
    depths = [1, 2, 4, 8, 1, 2, 4, 8]
    values = [d**0.9 * (1.1 if i % 2 else 0.9) for i, d in enumerate(depths)]
    fit, reference = loglog_slope(depths, values), stats.linregress(np.log(depths), np.log(values))
    assert fit.slope == pytest.approx(reference.slope) and fit.se == pytest.approx(reference.stderr)
    half = stats.t.ppf(0.975, len(depths) - 2) * reference.stderr
    assert (fit.low, fit.high) == pytest.approx((reference.slope - half, reference.slope + half))
    assert math.isnan(loglog_slope([1, 2, 4], [1, 2, 4]).low)  # 3 points: no interval
    flat = loglog_slope(depths, [1.0 + 0.01 * (i % 3) for i in range(8)])
    diff, low, high = slope_difference(fit, flat)
    assert diff == pytest.approx(fit.slope - flat.slope) and low < diff < high
    # copies: the spread is 0 for equal norms, and a lower bound on ‖θ_i − θ_j‖/mean
    assert layer_spread({"layers.0.attn": 2.0, "layers.1.attn": 2.0, "head": 5.0}) == 0.0
    assert layer_spread({"layers.0.attn": 2.0, "layers.1.attn": 3.0}) == pytest.approx(1 / 2.5)
    assert onset_depth({2: "trains", 6: "fails", 12: "fails"}) == 6
    assert onset_depth({2: "fails", 6: "trains", 12: "fails"}) == 12
    assert onset_depth({2: "fails", 6: "fails", 12: "mixed"}) is None


def test_the_training_rule(study: tuple[Path, str, Path]) -> None:
    run = stored(study[0])[0]
    good = replace(run, diverged=False, bpc={0: 6.0, 4: 3.8})
    assert outcome([good], 3.5) == "trains"  # under 4.30 and within 0.5 of pre-LN
    assert outcome([good], 3.8 - WORSE_BY - 0.01) == "fails"  # clearly worse than pre-LN
    assert outcome([replace(good, bpc={4: TRAINED_BPC + 0.01})], math.nan) == "fails"
    assert outcome([good, replace(good, diverged=True)], 3.5) == "mixed"
    assert replace(good, diverged=True).final_bpc == math.inf and good.steps_to(4.0) == 4


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    study: tuple[Path, str, Path], tmp_path: Path
) -> None:
    check_study_page(tmp_path, study[2])
