"""The rank-gap study on a cut-down grid run through the CLI (sklearn digits, an MLP, every arm): its
verdicts and that they are the store's numbers, its words, which follow the verdicts, its statistics,
and its report."""

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
from initlab.studies.presets import Budget
from initlab.studies.rank_gap import grid, text
from initlab.studies.rank_gap.claims import (
    explains_claim,
    intervention_claims,
    order_claims,
    rank_claims,
    relation_claims,
)
from initlab.studies.rank_gap.facts import Point, RunFacts, points, study_facts
from initlab.studies.rank_gap.relation import bootstrap_interval, fisher_interval
from initlab.sweep import expand

#: 512 training images: 4 steps an epoch, 3 epochs, ranks every 2 steps.
TINY = Budget(epochs=3, seeds=2, train_size=512, val_size=200)
TINY_SETTINGS = (
    grid.Setting(
        "digits-mlp",
        "digits",
        "mlp",
        {"quick": TINY, "full": TINY},
        {"quick": 2, "full": 2},
        3,
        interventions=True,
        extra={"model_params": {"depth": 3, "width": 32, "activation": "elu"}},
    ),
)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:
    """``initlab study run rank-gap --preset quick`` on the tiny settings: (store, stdout, report)."""
    folder = tmp_path_factory.mktemp("rank-gap")
    store = folder / "r.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grid, "SETTINGS", TINY_SETTINGS)
        clipped = collect_clipped_titles(patch)
        args = ["study", "run", "rank-gap", "--preset", "quick", "--workers", "1", "--threads", "1"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main([*args, "--store", str(store)])
        assert status == 0, out.getvalue()
        assert clipped == [], f"figure titles cut off: {clipped}"
        yield store, out.getvalue(), folder / "studies" / "rank-gap-quick" / "report.html"


def stored(store_path: Path) -> list[RunFacts]:
    with Store(store_path) as store, pytest.MonkeyPatch.context() as patch:
        patch.setattr(grid, "SETTINGS", TINY_SETTINGS)
        return study_facts(StudyRuns(store, "quick", load_runs(store)))


def claims_of(facts: list[RunFacts]) -> dict[str, Claim]:
    every = [*rank_claims(facts), *relation_claims(facts), *intervention_claims(facts), *order_claims(facts)]
    return {c.name: c for c in every}


def test_the_grid_runs_the_seed_studys_settings_and_every_arm_is_found_again() -> None:
    quick, full = get_study("rank-gap").specs("quick"), get_study("rank-gap").specs("full")
    assert [s.name.rsplit("/", 1)[1] for s in quick] == ["mnist-fnn", "mnist-cnn", "fashion-fnn"]
    assert "fashion-cifar-cnn" in [s.name.rsplit("/", 1)[1] for s in full]
    for spec in quick:
        configs = expand(spec)
        arms = {grid.arm_of(c.model_dump(), "quick") for c in configs}
        assert None not in arms
        for config in configs:  # whole epochs whose last step is a rank record
            steps = config.train_size // 128
            assert config.train_size % 128 == 0 and steps % config.probes["symmetry"]["every"] == 0
    cnn = expand(quick[1])
    assert {grid.arm_of(c.model_dump(), "quick") for c in cnn} == set(grid.BASE_ARMS) | set(
        grid.intervention_arms("quick")
    )
    boosted = [c for c in cnn if c.boost_steps]
    assert {(c.boost_steps, c.boost, c.init) for c in boosted} == {(10, 10.0, "zero-weight-random-bias")}
    tiny = [c for c in cnn if c.init == "variance-scaling"]
    assert sorted({c.init_params["scale"] for c in tiny}) == pytest.approx(
        [2e-8, 2e-4]
    )  # 2ε², ε = 1e-4, 1e-2


def test_the_cli_prints_the_claims_and_they_are_the_stored_numbers(study: tuple[Path, str, Path]) -> None:
    store_path, out, report = study
    facts = stored(store_path)
    assert len(facts) == 2 * (2 + len(grid.intervention_arms("quick")))
    claims = claims_of(facts)
    counts = {v: sum(c.verdict == v for c in claims.values()) for v in ("holds", "fails", "inconclusive")}
    assert ", ".join(f"{n} {v}" for v, n in counts.items()) in out and report.is_file()
    zero = sorted((f for f in facts if (f.setting, f.arm) == ("digits-mlp", "zero")), key=lambda f: f.seed)
    default = sorted(
        (f for f in facts if (f.setting, f.arm) == ("digits-mlp", "default")), key=lambda f: f.seed
    )
    with Store(store_path) as store:
        ratios = []
        for z, d in zip(zero, default, strict=True):
            ranks = [
                {
                    r.step: r.value
                    for _, r in store.probe_rows(f.run.id, "symmetry", layer="fc1", name="effective_rank")
                }
                for f in (z, d)
            ]
            assert max(ranks[0]) == 12 == 3 * 4  # the last epoch's last step is recorded
            ratios.append(ranks[0][12] / ranks[1][12])
    far = claims["rank-far-below/digits-mlp/fc1"]
    assert far.numbers["ratio"] == pytest.approx(np.mean(ratios))
    assert far.verdict == "holds" and far.numbers["ratio"] < 0.2  # the zero MLP's fc1 stays near rank 1
    assert claims["order/digits-mlp"].verdict == "holds"  # layer L−k first changes at step k
    # the points: 3 epochs × 2 seeds, each a same-seed gap
    every = points(facts)
    assert len(every) == claims["gap-tracks-deficit"].numbers["points"] == 6
    d0 = default[0].accuracy[3] - zero[0].accuracy[3]
    assert any(
        p.gap == pytest.approx(d0) for p in every if (p.setting, p.seed, p.epoch) == ("digits-mlp", 0, 3)
    )


def test_the_report_states_the_answer_from_the_verdicts(study: tuple[Path, str, Path]) -> None:
    store_path, _, report = study
    claims = claims_of(stored(store_path))
    page = report.read_text()
    sentences = [text.answer_text(claims), text.rank_text(claims), text.relation_text(claims)]
    sentences += [text.intervention_text(claims, "digits-mlp"), text.order_text(claims)]
    assert "zero weights" in sentences[3] and "he×1e-04" in sentences[3]
    for sentence in sentences:
        assert html.escape(sentence) in page
    assert page.index("The answer") < page.index("Effective rank over training") < page.index("Interventions")
    for name in ("effective_rank_curves.png", "gap_vs_rank_deficit.png", "interventions.csv"):
        assert (report.parent / name).is_file()


def test_the_words_change_when_the_data_does(study: tuple[Path, str, Path]) -> None:
    facts = stored(study[0])
    # the zero arm as spread as the default: not far below any more, and the answer says so
    spread = [
        replace(f, effective_rank=ref.effective_rank)
        if f.arm == "zero" and (ref := _default(facts, f))
        else f
        for f in facts
    ]
    claims = claims_of(spread)
    assert claims["rank-far-below/digits-mlp/fc1"].verdict == "fails"
    assert "do not stay clearly low-rank" in text.answer_text(claims)
    assert "0 of" in text.rank_text(claims)
    # a layer that woke a step early
    early = [replace(f, first_change=[0, *f.first_change[1:]]) if f.arm == "zero" else f for f in facts]
    assert claims_of(early)["order/digits-mlp"].verdict == "fails"
    assert "not exactly in digits-mlp" in text.order_text(claims_of(early))


def _default(facts: list[RunFacts], f: RunFacts) -> RunFacts | None:
    same = [g for g in facts if (g.setting, g.arm, g.seed) == (f.setting, "default", f.seed)]
    return same[0] if same else None


def test_the_answer_follows_the_intervention_verdicts() -> None:
    base = {
        "rank-far-below/s/fc1": Claim("rank-far-below/s/fc1", "", "holds", {"ratio": 0.1}),
        "gap-tracks-deficit": Claim(
            "gap-tracks-deficit", "", "holds", {"rho": 0.8, "ci low": 0.5, "ci high": 0.9, "points": 9}
        ),
    }
    agree = explains_claim("s", [("tiny", "holds", "holds"), ("bias", "fails", "fails")])
    assert agree.verdict == "holds"
    assert text.answer_text({**base, agree.name: agree}).startswith("Yes")
    split = [("tiny", "fails", "fails"), ("boost", "fails", "holds")]
    against = explains_claim("s", split)
    assert against.verdict == "fails" and against.numbers["disagree"] == "boost"
    gap_only = {"narrower-gap/s/boost": Claim("narrower-gap/s/boost", "", "holds", {})}
    words = text.answer_text({**base, against.name: against, **gap_only})
    assert (
        words.startswith("Not by rank alone")
        and "rank is not the explanation" in words
        and "(boost)" in words
    )
    undecided = explains_claim("s", [("tiny", "inconclusive", "holds")])
    assert undecided.verdict == "inconclusive"
    assert text.answer_text({**base, undecided.name: undecided}).startswith("Not settled")


def test_the_relation_and_its_intervals() -> None:
    rng = np.random.default_rng(1)
    rising = [
        Point(s, "zero", seed, epoch, gap=d + 0.01 * rng.standard_normal(), deficit=d)
        for s in ("a", "b")
        for seed in range(3)
        for epoch, d in enumerate((0.9, 0.7, 0.5, 0.3), start=1)
    ]
    pooled = bootstrap_interval(rising)
    assert pooled.rho == pytest.approx(
        stats.spearmanr([p.deficit for p in rising], [p.gap for p in rising]).statistic
    )
    assert 0 < pooled.low <= pooled.rho <= pooled.high and bootstrap_interval(rising) == pooled  # seeded
    mine = [p for p in rising if p.setting == "a"]
    fisher = fisher_interval(mine)
    z, half = math.atanh(fisher.rho), stats.norm.ppf(0.975) * math.sqrt(1.06 / (len(mine) - 3))
    assert (fisher.low, fisher.high) == pytest.approx((math.tanh(z - half), math.tanh(z + half)))
    falling = [replace(p, gap=1 - p.gap) for p in rising]
    assert bootstrap_interval(falling).high < 0
    assert math.isnan(bootstrap_interval([p for p in rising if p.seed == 0]).low)  # one seed: no interval
    assert math.isnan(fisher_interval(mine[:3]).low)


@needs_chromium
def test_the_report_page_loads_every_figure_and_stays_short(
    study: tuple[Path, str, Path], tmp_path: Path
) -> None:
    check_study_page(tmp_path, study[2])
