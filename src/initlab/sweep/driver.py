"""The sweep driver: resume, run the rest on an executor, write the store, count the outcome.

``run_sweep(configs, store)`` is the one path every grid of runs takes (the CLI, studies):

1. Each config's key (``RunConfig.key()``) is its identity. Keys whose run in the store is
   ``finished`` or ``diverged`` are done and skipped; the others (never run, ``failed``, or
   ``running`` — left by a killed sweep) run again.
   A user's model (``package.module:factory``, or registered by the user's code) is built once
   first, so that a factory that raises stops the sweep before any run starts or row is written.
   Its module's source hash is part of each run's key (``RunConfig.model_source``): after the
   module changes, its runs are new runs, and the old ones stay in the store under their hash.
2. The runs go to an executor as jobs (:mod:`initlab.sweep.jobs`): local worker processes
   (:mod:`initlab.sweep.local`) or Ray tasks (:mod:`initlab.sweep.ray_executor`).
3. The driver alone writes the store. When a run starts, its key's stale ``running``/``failed``
   rows are deleted in the same transaction (``Store.restart_run``), so every key has exactly one
   run; a run is ``finished`` only once all its metrics are written before it, so a run killed
   mid-way is never ``finished`` with half its metrics.
4. A lock file beside the store keeps a second sweep from writing the same store at once.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from initlab.config import RunConfig
from initlab.errors import ConfigError, one_of
from initlab.records import MetricRow, ProbeRow, RunEnd, RunStart
from initlab.store import Store
from initlab.store.export import flatten
from initlab.sweep.jobs import LOOP, check_user_models, make_jobs
from initlab.sweep.local import available_cores, run_local
from initlab.sweep.progress import SweepProgress, first_line
from initlab.sweep.ray_executor import run_ray
from initlab.train import Callback, resolve_config

try:
    import fcntl
except ImportError:  # Windows: no lock
    fcntl = None  # type: ignore[assignment]

EXECUTORS = ("local", "ray")
DONE_STATUSES = ("finished", "diverged")


@dataclass(frozen=True)
class SweepSummary:
    """How a sweep stands after :func:`run_sweep`: its runs counted by their status in the store."""

    name: str | None
    runs: int
    """Distinct runs (keys) in the sweep."""
    skipped: int
    """Runs already finished or diverged before this call, not run again."""
    ran: int
    """Runs that ended during this call."""
    finished: int
    diverged: int
    failed: int
    unfinished: int
    """Runs with no end: never started, or stopped mid-way (an interrupted sweep)."""
    seconds: float
    failures: tuple[tuple[str, str], ...] = ()
    """``(label, first line of the reason)`` of each run that failed during this call."""

    def line(self) -> str:
        """``sweep 'x': 12 runs: 10 finished, 1 diverged, 1 failed (4 already done) in 12.3 s``."""
        counts = f"{self.finished} finished, {self.diverged} diverged, {self.failed} failed"
        if self.unfinished:
            counts += f", {self.unfinished} not run"
        name = f"sweep {self.name!r}: " if self.name else "sweep: "
        return f"{name}{self.runs} runs: {counts} ({self.skipped} already done) in {self.seconds:.1f} s"


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; ``summary`` says where it stands (rerun it to resume)."""

    def __init__(self, summary: SweepSummary):
        super().__init__(summary.line())
        self.summary = summary


class SweepWriter:
    """The driver's sink: writes records into the store (replacing stale attempts of a key) and
    reports each run's end to the progress display."""

    def __init__(self, store: Store, labels: dict[str, str], progress: SweepProgress):
        self.store, self.labels, self.progress = store, labels, progress
        self.failures: list[tuple[str, str]] = []
        self.ended = 0

    def start_run(self, start: RunStart) -> None:
        self.store.restart_run(start)

    def write_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        self.store.write_metrics(run_id, rows)

    def write_probe_rows(self, run_id: str, probe: str, rows: Sequence[ProbeRow]) -> None:
        self.store.write_probe_rows(run_id, probe, rows)

    def end_run(self, run_id: str, end: RunEnd) -> None:
        self.store.end_run(run_id, end)
        self.ended += 1
        label = self.labels.get(run_id, run_id)
        if end.status == "failed":
            self.failures.append((label, first_line(end.reason)))
        self.progress.run_ended(label, end)


def run_sweep(
    configs: Sequence[RunConfig],
    store: Store | str | Path,
    *,
    name: str | None = None,
    spec: dict[str, Any] | None = None,
    workers: int | None = None,
    threads: int | None = None,
    executor: str = "local",
    engine: str = LOOP,
    ray_address: str | None = None,
    num_cpus: float = 1,
    max_retries: int = 3,
    download: bool = False,
    callbacks: Sequence[Callback] = (),
    console: Console | None = None,
) -> SweepSummary:
    """Run every config not yet finished or diverged in ``store``; return how the sweep stands.

    ``name`` records the configs as sweep ``name`` in the store (``Store.runs(sweep=name)`` finds
    them again), with ``spec`` (e.g. ``SweepSpec.model_dump()``). ``workers``: local processes
    (default: one per core), or the size of a local Ray instance in units of ``num_cpus``;
    ``threads``: torch threads per local worker (default: cores / workers).
    ``executor``: ``local`` or ``ray`` (with ``ray_address`` for an existing cluster, ``num_cpus``
    per run and ``max_retries`` when a worker dies). ``engine``: ``loop`` (one ``train()`` per run)
    or ``vmap`` (seeds of one config trained together). ``callbacks`` (picklable) are attached to
    every run of the ``loop`` engine. ``console``: where to show progress (None: nowhere).

    Raises :class:`SweepInterrupted` (a KeyboardInterrupt) on Ctrl-C, after recording the runs in
    flight as failed; rerunning the same sweep resumes it.
    """
    if executor not in EXECUTORS:
        raise one_of("executor", executor, EXECUTORS)
    workers = available_cores() if workers is None else workers
    if workers < 1 or (threads is not None and threads < 1):
        raise ConfigError(
            f"workers={workers}, threads={threads} are invalid: allowed workers >= 1, threads >= 1"
        )
    if num_cpus <= 0 or max_retries < 0:
        raise ConfigError(
            f"num_cpus={num_cpus}, max_retries={max_retries}: need num_cpus > 0, max_retries >= 0"
        )
    configs = list({c.key(): c for c in map(resolve_config, configs)}.values())  # resolved, then keyed
    started = time.perf_counter()
    with _open(store) as db, sweep_lock(db.path):
        keys = [c.key() for c in configs]
        before = db.key_statuses(keys)
        todo = [c for c in configs if before.get(c.key()) not in DONE_STATUSES]
        check_user_models(todo)
        if console is not None:
            for note in source_changes(db, todo):
                console.print(note, highlight=False, markup=False)
        run_ids = [uuid.uuid4().hex[:12] for _ in todo]
        jobs = make_jobs(todo, run_ids, engine, download=download, callbacks=callbacks)
        if name is not None:
            db.record_sweep(name, keys, spec)
        names = run_labels(configs)
        labels = {run_id: names[c.key()] for c, run_id in zip(todo, run_ids, strict=True)}
        skipped = len(configs) - len(todo)
        done = [before[c.key()] for c in configs if before.get(c.key()) in DONE_STATUSES]
        with SweepProgress(console, name or "sweep", len(configs), done) as progress:
            writer = SweepWriter(db, labels, progress)
            try:
                if executor == "local":
                    run_local(jobs, writer, workers=workers, threads=threads)
                else:
                    run_ray(
                        jobs,
                        writer,
                        address=ray_address,
                        workers=workers,
                        num_cpus=num_cpus,
                        max_retries=max_retries,
                    )
            except KeyboardInterrupt:
                raise SweepInterrupted(_summary(db, name, keys, skipped, writer, started)) from None
        return _summary(db, name, keys, skipped, writer, started)


def source_changes(db: Store, configs: Sequence[RunConfig]) -> list[str]:
    """A note for each user's model of ``configs`` whose module changed since runs of it were stored:
    those runs are other keys, kept; the configs run anew."""
    notes = []
    for model, source in sorted({(c.model, c.model_source) for c in configs if c.model_source}):
        stale = [
            r
            for r in db.runs(model=model)
            if r.status in DONE_STATUSES and r.config.get("model_source") != source
        ]
        if stale:
            old = ", ".join(sorted({str(r.config.get("model_source")) for r in stale}))
            notes.append(
                f"model {model!r} changed since {len(stale)} runs of it in this store (source {old}, "
                f"now {source}): these runs are new; the old ones are kept"
            )
    return notes


def run_labels(configs: Sequence[RunConfig]) -> dict[str, str]:
    """A short name for each config (by key): the fields whose values differ across ``configs``,
    e.g. ``init=zeros lr=0.1 seed=3`` (``RunConfig.label()`` when none do)."""
    flat = [flatten(c.model_dump(mode="json")) for c in configs]
    values: dict[str, set[str]] = {}
    for f in flat:
        for k, v in f.items():
            values.setdefault(k, set()).add(repr(v))
    varying = [k for k, seen in values.items() if len(seen) > 1]
    return {
        c.key(): " ".join(f"{k}={f[k]}" for k in varying if k in f) or c.label()
        for c, f in zip(configs, flat, strict=True)
    }


def _summary(
    db: Store, name: str | None, keys: list[str], skipped: int, writer: SweepWriter, started: float
) -> SweepSummary:
    statuses = list(db.key_statuses(keys).values())
    finished, diverged, failed = (statuses.count(s) for s in ("finished", "diverged", "failed"))
    return SweepSummary(
        name=name,
        runs=len(keys),
        skipped=skipped,
        ran=writer.ended,
        finished=finished,
        diverged=diverged,
        failed=failed,
        unfinished=len(keys) - finished - diverged - failed,
        seconds=time.perf_counter() - started,
        failures=tuple(writer.failures),
    )


@contextmanager
def _open(store: Store | str | Path) -> Iterator[Store]:
    if isinstance(store, Store):
        yield store
    else:
        with Store(store) as db:
            yield db


@contextmanager
def sweep_lock(path: Path) -> Iterator[None]:
    """Hold ``<store>.lock`` while a sweep writes the store; a second sweep on it is refused.

    The lock is the kernel's (``flock``): it is released when the holder dies, even by SIGKILL.
    """
    if fcntl is None:
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise ConfigError(
                f"another sweep (pid {holder}) is writing to {str(path)!r}; "
                "wait for it to end or use another store"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
