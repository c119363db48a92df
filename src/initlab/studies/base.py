"""A study: a named sweep per preset, an analysis of its stored runs, and the claims it checks.

``run_study`` expands the preset's sweeps and runs them through ``initlab.sweep.run_sweep`` (so a
study resumes where it stopped and scales to Ray like any sweep); ``report_study`` reads the runs
back from the store, lets the study compute its claims and sections, and writes the HTML report.
Verdicts are computed from the stored results, never written by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from initlab.config import SPEED_FIELDS, RunConfig, speed_variants
from initlab.errors import ConfigError, one_of
from initlab.frames import Tidy
from initlab.registry import Registry
from initlab.report import Claim, Condition, Section, StoredRun, build_report, group_conditions, load_runs
from initlab.store import Store
from initlab.studies.presets import PRESETS, Preset
from initlab.sweep import SweepSpec, SweepSummary, expand, make_spec, run_sweep

QUICK_NOTE = "quick preset: data subsets, fewer epochs and seeds; the verdict is indicative"


@dataclass(frozen=True)
class StudyRuns:
    """What an analysis reads: the store, the preset, and the study's stored runs."""

    store: Store
    preset: Preset
    runs: list[StoredRun]

    def select(self, **where: Any) -> list[StoredRun]:
        """Runs whose config has every ``field=value`` of ``where`` (dotted keys reach into params)."""
        return [r for r in self.runs if all(_config_value(r.record.config, k) == v for k, v in where.items())]

    def conditions(self, **where: Any) -> list[Condition]:
        """The selected runs grouped by config apart from the seed, labelled by what differs."""
        return group_conditions(self.select(**where))


@dataclass
class Analysis:
    """What a study concludes: claims with verdicts, its own report sections, and the groups of
    conditions whose accuracy curves and final tables the report shows (default: all together; empty:
    none, for a study whose sections draw the accuracy themselves).
    ``lead`` sections come right after the claims (e.g. the answer to the study's question in words);
    ``fold_probes`` folds the generic probe sections that follow them."""

    claims: list[Claim]
    sections: list[Section] = field(default_factory=list)
    groups: dict[str, list[Condition]] | None = None
    lead: list[Section] = field(default_factory=list)
    fold_probes: bool = False


@dataclass(frozen=True)
class Study:
    """A named study: its question, its sweeps per preset, and its analysis."""

    name: str
    title: str
    question: str
    sweeps: Callable[[Preset], list[dict[str, Any]]]
    """The preset's sweeps as sweep-spec tables (``base``, ``axes``, ``zip``); named by the study."""
    analyze: Callable[[StudyRuns], Analysis]
    metric: str = "test_accuracy"
    prepare: Callable[[Preset], None] | None = None
    """Run once before the preset's sweeps (e.g. train what every run reads, so that parallel workers
    do not each train it)."""

    def __call__(self, data: StudyRuns) -> Analysis:
        """The study's analysis of its stored runs (a study is the callable its catalogue holds)."""
        return self.analyze(data)

    def specs(self, preset: Preset, parts: Sequence[str] | None = None) -> list[SweepSpec]:
        """The preset's sweeps, validated, named ``<study>-<preset>/<part>``; only ``parts`` if given."""
        if preset not in PRESETS:
            raise one_of("preset", preset, PRESETS)
        specs = [
            make_spec({**part, "name": f"{self.sweep_name(preset)}/{part.get('name', i)}"})
            for i, part in enumerate(self.sweeps(preset))
        ]
        if parts is None:
            return specs
        by_part = {spec.name.rsplit("/", 1)[1]: spec for spec in specs}
        for part in parts:
            if part not in by_part:
                raise one_of(f"part of {self.name} ({preset})", part, by_part)
        return [by_part[part] for part in dict.fromkeys(parts)]

    def sweep_name(self, preset: Preset, parts: Sequence[str] | None = None) -> str:
        """``<study>-<preset>``, or ``<study>-<preset>/<part>+<part>`` for a run of some parts."""
        name = f"{self.name}-{preset}"
        return name if parts is None else f"{name}/{'+'.join(dict.fromkeys(parts))}"

    def configs(
        self, preset: Preset, parts: Sequence[str] | None = None, speed: Sequence[str] = ()
    ) -> list[RunConfig]:
        """The run configs of the preset's sweeps (only ``parts`` if given), with each speed option in
        ``speed`` (:data:`~initlab.config.SPEED_FIELDS`, e.g. ``compile``) set true: runs whose numbers
        differ from the plain ones by float rounding only, under their own keys."""
        for option in speed:
            if option not in SPEED_FIELDS:
                raise one_of("speed option", option, SPEED_FIELDS)
        update = dict.fromkeys(speed, True)
        return [
            config.model_copy(update=update) for spec in self.specs(preset, parts) for config in expand(spec)
        ]


#: The studies by name, a :class:`~initlab.registry.Registry` like every catalogue of initlab.
STUDIES: Registry[Study] = Registry("study")


def register_study(study: Study) -> Study:
    """Add ``study`` to :data:`STUDIES` under its name (a name registered twice is an error)."""
    STUDIES.register(study.name, title=study.title)(study)
    return study


def get_study(study: str | Study) -> Study:
    """The registered study named ``study``; a :class:`Study` passes through, so a caller (or a test)
    can run and report a study that is not in the catalogue, e.g. a cut-down copy."""
    return study if isinstance(study, Study) else STUDIES.get(study).fn


def run_study(
    name: str | Study,
    preset: Preset,
    store: Store | str | Path,
    *,
    parts: Sequence[str] | None = None,
    workers: int | None = None,
    console: Console | None = None,
    speed: Sequence[str] = (),
    **sweep_options: Any,
) -> SweepSummary:
    """Run (or resume) every run of study ``name`` (a name or a :class:`Study`) at ``preset``, or of
    its sweeps named in ``parts`` (e.g. ``["mnist-fnn"]``), with the speed options ``speed`` (see
    :meth:`Study.configs`); a run already finished with other speed options (or none) is not run
    again. ``sweep_options`` go to ``run_sweep`` (``executor``, ``engine``, ``threads``,
    ``ray_address``, ``download``, ...)."""
    study = get_study(name)
    specs = study.specs(preset, parts)
    configs = study.configs(preset, parts, speed)
    finished = _finished_keys(store)
    todo = [c for c in configs if not any(v.key() in finished for v in speed_variants(c) if v != c)]
    if console is not None and len(todo) < len(configs):
        console.print(f"{len(configs) - len(todo)} runs already finished with other speed options")
    if study.prepare is not None:
        study.prepare(preset)
    return run_sweep(
        todo,
        store,
        name=study.sweep_name(preset, parts),
        spec={
            "study": study.name,
            "preset": preset,
            "sweeps": [s.model_dump() for s in specs],
            "speed": list(speed),
        },
        workers=workers,
        console=console,
        **sweep_options,
    )


def _finished_keys(store: Store | str | Path) -> set[str]:
    """The config keys of the finished runs in ``store`` (none if the file does not exist yet)."""
    if isinstance(store, Store):
        return {r.config_hash for r in store.runs() if r.status == "finished"}
    if not Path(store).is_file():
        return set()
    with Store(store) as db:
        return _finished_keys(db)


def study_runs(study: Study, preset: Preset, store: Store) -> StudyRuns:
    """The study's runs at ``preset`` from the store: for each config of its sweeps, its run, or the
    run of the same config made with speed options (:func:`~initlab.config.speed_variants`, equal up
    to float rounding): a finished run before an unfinished one, then the plain run before a faster one."""
    # one entry per distinct config (two sweeps may share one)
    variants = list(dict.fromkeys(tuple(v.key() for v in speed_variants(c)) for c in study.configs(preset)))
    stored = load_runs(store, config_hashes={key for keys in variants for key in keys})
    by_key: dict[str, list[StoredRun]] = {}
    for run in stored:
        by_key.setdefault(run.record.config_hash, []).append(run)
    runs = []
    for keys in variants:
        candidates = [
            (run.status != "finished", rank, run)
            for rank, key in enumerate(keys)
            for run in by_key.get(key, [])
        ]
        if candidates:
            runs.append(min(candidates, key=lambda c: c[:2])[2])
    if not runs:
        raise ConfigError(
            f"no runs of study {study.name!r} (preset {preset}) in {str(store.path)!r}; "
            f"run `initlab study run {study.name} --preset {preset}` first"
        )
    order = {run.id: i for i, run in enumerate(stored)}  # the store's start order
    return StudyRuns(store, preset, sorted(runs, key=lambda run: order[run.id]))


@dataclass(frozen=True)
class StudyReport(Tidy):
    """A written study report: where its page is, and the claims it checked.

    ``to_frame()``: one row per claim (name, statement, verdict, note and its numbers); Jupyter shows
    the same rows as a table.
    """

    path: Path
    claims: list[Claim]

    def tidy_rows(self) -> list[dict[str, Any]]:
        return [
            {"name": c.name, "statement": c.statement, "verdict": c.verdict, "note": c.note, **c.numbers}
            for c in self.claims
        ]


def report_study(
    name: str | Study, preset: Preset, store_path: str | Path, out: str | Path | None = None
) -> StudyReport:
    """Analyse the stored runs of study ``name`` (a name or a :class:`Study`) and write its report
    (page, figures, tables); the header counts the runs made with speed options.

    The report goes to ``out`` (default: ``results/studies/<name>-<preset>/`` beside the store's
    folder). Runs not yet finished are shown as such; the claims use what has finished.
    """
    study = get_study(name)
    store_path = Path(store_path)
    if not store_path.is_file():
        raise ConfigError(f"store {str(store_path)!r} does not exist; run the study first")
    with Store(store_path) as store:
        data = study_runs(study, preset, store)
        analysis = study(data)
        if preset == "quick":
            analysis.claims = [_mark_quick(c) for c in analysis.claims]
        conditions = [
            c for group in (analysis.groups or {"": group_conditions(data.runs)}).values() for c in group
        ]
        report = build_report(
            store,
            conditions,
            title=f"{study.title} ({preset} preset)",
            metric=study.metric,
            claims=analysis.claims,
            sections=analysis.sections,
            lead=analysis.lead,
            metadata={"study": f"{study.name}: {study.question}", "preset": preset} | _speed_note(data.runs),
            groups=analysis.groups,
            fold_probes=analysis.fold_probes,
        )
        folder = Path(out) if out is not None else store_path.parent / "studies" / study.sweep_name(preset)
        return StudyReport(report.write(folder), analysis.claims)


def _speed_note(runs: Sequence[StoredRun]) -> dict[str, str]:
    """The header line of the speed options the runs were made with (none: no line)."""
    counts = {f: sum(bool(r.record.config.get(f)) for r in runs) for f in SPEED_FIELDS}
    used = [f"{field} in {count} of {len(runs)} runs" for field, count in counts.items() if count]
    if not used:
        return {}
    return {"speed options": f"{', '.join(used)} (numbers equal to plain runs' up to float rounding)"}


def _mark_quick(claim: Claim) -> Claim:
    note = f"{claim.note}; {QUICK_NOTE}" if claim.note else QUICK_NOTE
    return Claim(claim.name, claim.statement, claim.verdict, claim.numbers, note)


def _config_value(config: dict[str, Any], key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
