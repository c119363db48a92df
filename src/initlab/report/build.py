"""The standard report of any set of stored runs: metadata, claims, curves, final table, extra sections.

Studies call :func:`build_report` with their conditions, claims and own sections; ``initlab report``
calls :func:`report_store`. Charts of probe rows join automatically through :data:`PROBE_SECTIONS`:
register ``builder(rows: Table) -> Section`` under a probe's name, and every report whose runs hold
rows of that probe gets the section.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import initlab
from initlab.data import default_val_size
from initlab.errors import ConfigError, InitlabError
from initlab.registry import Registry
from initlab.report.claims import Claim
from initlab.report.figures import metric_label, plot_curves, plot_final
from initlab.report.html import ClaimsBlock, FigureBlock, Report, Section, TableBlock
from initlab.report.runs import Condition, format_value, group_conditions, load_runs
from initlab.report.series import palette
from initlab.report.stats import MIN_INTERVAL_N
from initlab.report.tables import Table, curve_axis, curve_table, final_table, probe_table, run_table
from initlab.store import Store
from initlab.store.export import flatten

ProbeSectionBuilder = Callable[[Table], Section]
#: Section builders by probe name: ``@PROBE_SECTIONS.register("update-order")`` on
#: ``def section(rows: Table) -> Section``, where ``rows`` is that probe's :func:`probe_table`.
PROBE_SECTIONS: Registry[ProbeSectionBuilder] = Registry("probe section")

#: The final table's columns on the page (the CSV holds them all); ``unfinished`` only when any is.
FINAL_COLUMNS = ("condition", "n", "mean", "interval", "std", "min", "max", "diverged", "failed")
#: A final table of more conditions than this is folded under its caption (its figure shows the same).
FOLD_FINAL = 8
RUN_COLUMNS = ("condition", "seed", "status", "value", "diverged_step", "run_id", "reason")


def metric_sections(
    conditions: Sequence[Condition], metric: str = "test_accuracy", *, level: float = 0.95, group: str = ""
) -> list[Section]:
    """The curves of ``metric`` per epoch (per step if runs evaluate inside epochs), and its final
    values per condition and per run.

    ``group`` names a subset of a larger report (e.g. ``mnist / mnist-fnn``): it is added to the
    section titles and, made file-safe, to the figure and table file names.
    """
    colors = palette([c.label for c in conditions])
    x = curve_axis(conditions, metric)
    curves = curve_table(conditions, metric, x=x, level=level)
    final = final_table(conditions, metric, level=level)
    runs = run_table(conditions, metric)
    name = metric_label(metric)
    ci = f"{level:.0%} CI"
    title = f": {group}" if group else ""
    tag = metric + ("_" + re.sub(r"[^A-Za-z0-9.-]+", "_", group).strip("_") if group else "")
    return [
        Section(
            f"{name.capitalize()} per {x}{title}",
            [
                FigureBlock.of(
                    f"curves_{tag}",
                    plot_curves(curves, final=final, colors=colors),
                    f"{name} per {x}: mean over finished runs, shaded {ci} (Student t, within the "
                    f"metric's range) where every {x} has at least {MIN_INTERVAL_N} runs, else the range "
                    "of the seeds (fewer runs give no meaningful interval)",
                ),
                TableBlock(f"curves_{tag}", curves, f"{name} per {x} and condition", collapsed=True),
            ],
        ),
        Section(
            f"Final {name}{title}",
            [
                FigureBlock.of(
                    f"final_{tag}",
                    plot_final(final, runs=runs, colors=colors),
                    f"final {name}: mean with {ci} from {MIN_INTERVAL_N} runs on; dots are single seeds",
                ),
                TableBlock(
                    f"final_{tag}",
                    final,
                    f"final {name} over finished runs (mean, {ci} within the metric's range from "
                    f"{MIN_INTERVAL_N} runs on); diverged, failed and unfinished runs are counted, not "
                    "averaged",
                    columns=[*FINAL_COLUMNS, *(["unfinished"] if any(final.column("unfinished")) else [])],
                    collapsed=len(final) > FOLD_FINAL,
                ),
                TableBlock(
                    f"runs_{tag}", runs, f"final {name} of every run", columns=RUN_COLUMNS, collapsed=True
                ),
            ],
        ),
    ]


def probe_sections(
    store: Store, conditions: Sequence[Condition], charts: Registry[ProbeSectionBuilder] = PROBE_SECTIONS
) -> list[Section]:
    """A section per probe registered in ``charts`` whose rows the runs hold."""
    sections = []
    for entry in charts:
        rows = probe_table(store, conditions, entry.name)
        if len(rows):
            sections.append(entry.fn(rows))
    return sections


def build_report(
    store: Store,
    conditions: Sequence[Condition],
    *,
    title: str = "initlab report",
    metric: str = "test_accuracy",
    level: float = 0.95,
    claims: Sequence[Claim] | None = None,
    sections: Iterable[Section] = (),
    lead: Iterable[Section] = (),
    metadata: Mapping[str, str] | None = None,
    probe_charts: Registry[ProbeSectionBuilder] = PROBE_SECTIONS,
    groups: Mapping[str, Sequence[Condition]] | None = None,
    fold_probes: bool = False,
) -> Report:
    """The report of ``conditions``: metadata, ``lead`` (e.g. a study's answer in words), the claims
    (if given), ``metric``'s curves and final table, a section per probe in ``probe_charts`` that has
    rows, then ``sections`` (a study's own).

    ``groups`` splits the curves and final tables into one pair of sections per named group of
    conditions (e.g. one per dataset and model), instead of one pair over all ``conditions``; an empty
    ``groups`` shows none (a study that draws its own). ``fold_probes`` folds the probe sections
    (supporting charts of a report whose own sections come first, as ``lead``).
    """
    if not conditions:
        raise ConfigError("a report needs at least one run; the selection is empty")
    report = Report(title, {**run_metadata(store, conditions, metric, level), **(metadata or {})})
    for section in lead:
        report.add(section)
    if claims is not None:
        report.add(Section("Claims", [ClaimsBlock(claims)]))
    for group, members in (groups if groups is not None else {"": conditions}).items():
        for section in metric_sections(members, metric, level=level, group=group):
            report.add(section)
    probes = probe_sections(store, qualified(conditions, groups), probe_charts)
    for section in [*(replace(s, folded=fold_probes) for s in probes), *sections]:
        report.add(section)
    settings = TableBlock("settings", shared_settings(conditions), "settings shared by every condition")
    report.add(Section("Settings", [settings], folded=True))
    return report


def qualified(
    conditions: Sequence[Condition], groups: Mapping[str, Sequence[Condition]] | None
) -> list[Condition]:
    """The conditions with labels that are unique across ``groups``: labels are made within a group
    (``init=zeros`` in each of several datasets), so a chart over all of them names the group too."""
    if not groups or len(groups) < 2:
        return list(conditions)
    return [replace(c, label=f"{name}: {c.label}") for name, members in groups.items() for c in members]


def run_metadata(store: Store, conditions: Sequence[Condition], metric: str, level: float) -> dict[str, str]:
    """Where the numbers come from: store, runs by status, versions, devices, dates (a run shown in
    several groups, e.g. a baseline beside each model, counts once)."""
    records = list({r.id: r.record for c in conditions for r in c.runs}.values())
    statuses = Counter(r.status for r in records)
    started = [r.started_at for r in records]

    def when(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    return {
        "generated": when(dt.datetime.now(dt.UTC).timestamp()) + f" by initlab {initlab.__version__}",
        "store": str(store.path.resolve()),
        "runs": f"{len(records)} ("
        + ", ".join(
            f"{statuses[s]} {s}" for s in ("finished", "diverged", "failed", "running") if statuses[s]
        )
        + f") in {len({frozenset(r.id for r in c.runs) for c in conditions})} conditions",
        "runs started": f"{when(min(started))} to {when(max(started))}",
        "initlab version of the runs": ", ".join(sorted({r.initlab_version for r in records})),
        "torch version of the runs": ", ".join(sorted({r.torch_version for r in records})),
        "devices": ", ".join(sorted({r.device for r in records})),
        "metric": f"{metric}, mean over seeds with a {level:.0%} Student-t interval",
    }


def shared_settings(conditions: Sequence[Condition]) -> Table:
    """The flattened config settings every condition shares (what differs is in the labels), with the
    data sizes as the runs used them (:func:`resolved_sizes`)."""
    flats = [{**flatten(c.config), **resolved_sizes(c.config)} for c in conditions]
    shared = {k: v for k, v in flats[0].items() if all(f.get(k) == v for f in flats)}
    return Table.from_rows(
        ({"setting": k, "value": None if v is None else format_value(v)} for k, v in sorted(shared.items())),
        ["setting", "value"],
    )


def resolved_sizes(config: Mapping[str, Any]) -> dict[str, str]:
    """``val_size`` and ``train_size`` as a run of ``config`` used them, where the config left them to
    the defaults (None): the dataset's validation size, and the rest of its training split."""
    sizes: dict[str, str] = {}
    val = config.get("val_size")
    if val is None:
        try:
            val = default_val_size(config["dataset"], **config.get("dataset_params", {}))
        except InitlabError:  # a dataset this installation does not know: keep what the store says
            return sizes
        if val is None:  # a token corpus: its own held-out validation split, nothing carved
            return {"val_size": "the dataset's own validation split"}
        sizes["val_size"] = f"{val:,} (the dataset's default)"
    if config.get("train_size") is None:
        sizes["train_size"] = f"the training split less the {val:,} validation samples"
    return sizes


def report_store(
    store_path: str | Path,
    out: str | Path,
    *,
    dataset: str | None = None,
    model: str | None = None,
    init: str | None = None,
    metric: str = "test_accuracy",
    title: str | None = None,
) -> Path:
    """Report every run of the store matching the filters into folder ``out``; return the HTML path."""
    store_path = Path(store_path)
    if not store_path.is_file():
        raise ConfigError(
            f"store {str(store_path)!r} does not exist; give --store PATH of a results database"
        )
    with Store(store_path) as store:
        runs = load_runs(store, dataset=dataset, model=model, init=init)
        filters = {"dataset": dataset, "model": model, "init": init}
        chosen = ", ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        if not runs:
            raise ConfigError(f"no runs in {str(store_path)!r}" + (f" with {chosen}" if chosen else ""))
        report = build_report(
            store,
            group_conditions(runs),
            title=title or "initlab report",
            metric=metric,
            metadata={"selection": chosen or "all runs"},
        )
    return report.write(out)
