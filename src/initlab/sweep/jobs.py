"""Jobs: what one worker trains at a time, and how its records travel back to the driver.

A job is one run (engine ``loop``: one ``train()`` call) or several seeds of one config trained
together (engine ``vmap``: one ``train_batched()`` call). A worker runs it with a
:class:`MessageSink`, a ``RunSink`` that turns each record into a plain message for a pipe or a
list; the driver :func:`replay`s the messages into the store, which it alone writes. A job never
raises: a run that fails, before ``train()`` starts it (bad data, a model that does not fit the
dataset) or during training, is recorded as ``failed`` with its traceback.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from initlab.config import RunConfig, config_key
from initlab.data import load_dataset
from initlab.errors import ConfigError, InitlabError, one_of
from initlab.imports import import_modules
from initlab.models import build_model
from initlab.models.registry import is_user_model
from initlab.records import MetricRow, ProbeRow, RunEnd, RunSink, RunStart
from initlab.train import Callback, load_splits, train
from initlab.train.batched import ENGINE as VMAP
from initlab.train.batched import batch_key, check_batch, check_batchable, train_batched
from initlab.train.device import resolve_device
from initlab.train.loop import end_record, start_record

LOOP = "loop"
ENGINES = (LOOP, VMAP)

#: What a local worker sends after a job's last record.
DONE = "done"

#: A record in transit: the ``RunSink`` method's name and its arguments.
Message = tuple[str, tuple[Any, ...]]
SINK_METHODS = frozenset({"start_run", "write_metrics", "write_probe_rows", "end_run"})


@dataclass(frozen=True)
class Job:
    """Runs that one worker trains in one go, with the run ids the driver gave them."""

    engine: str
    configs: tuple[RunConfig, ...]
    run_ids: tuple[str, ...]
    download: bool = False
    callbacks: tuple[Callback, ...] = ()

    @property
    def runs(self) -> list[tuple[RunConfig, str]]:
        return list(zip(self.configs, self.run_ids, strict=True))


class MessageSink:
    """A ``RunSink`` that passes each record on as a :data:`Message` to ``send``."""

    def __init__(self, send: Callable[[Message], None]):
        self.send = send

    def start_run(self, start: RunStart) -> None:
        self.send(("start_run", (start,)))

    def write_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        self.send(("write_metrics", (run_id, list(rows))))

    def write_probe_rows(self, run_id: str, probe: str, rows: Sequence[ProbeRow]) -> None:
        self.send(("write_probe_rows", (run_id, probe, list(rows))))

    def end_run(self, run_id: str, end: RunEnd) -> None:
        self.send(("end_run", (run_id, end)))


def replay(message: Message, sink: RunSink) -> None:
    """Deliver one message to ``sink`` (e.g. the store)."""
    method, args = message
    if method not in SINK_METHODS:
        raise ValueError(f"not a record message: {method!r}")
    getattr(sink, method)(*args)


class TrackingSink:
    """A ``RunSink`` that passes records on to ``sink`` and notes which runs started and ended."""

    def __init__(self, sink: RunSink):
        self.sink = sink
        self.started: set[str] = set()
        self.ended: set[str] = set()

    def start_run(self, start: RunStart) -> None:
        self.sink.start_run(start)
        self.started.add(start.id)

    def write_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        self.sink.write_metrics(run_id, rows)

    def write_probe_rows(self, run_id: str, probe: str, rows: Sequence[ProbeRow]) -> None:
        self.sink.write_probe_rows(run_id, probe, rows)

    def end_run(self, run_id: str, end: RunEnd) -> None:
        self.sink.end_run(run_id, end)
        self.ended.add(run_id)


def run_job(job: Job, sink: RunSink) -> None:
    """Train the job's runs, reporting every record to ``sink``; failures are recorded, not raised.

    A worker first imports the modules the configs name in ``imports`` (their configs arrive
    validated, so nothing else would import them); import-path models import themselves.
    """
    tracked = TrackingSink(sink)
    try:
        import_modules(dict.fromkeys(name for config in job.configs for name in config.imports))
        if job.engine == VMAP:
            train_batched(job.configs, sink=tracked, run_ids=job.run_ids, download=job.download)
        else:
            for config, run_id in job.runs:
                splits = load_splits(config, download=job.download)
                train(config, sink=tracked, run_id=run_id, splits=splits, callbacks=job.callbacks)
    except Exception as exc:
        fail_unended(job, tracked, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


def fail_unended(job: Job, tracked: TrackingSink, reason: str) -> None:
    """Record every run of ``job`` that has not ended (per ``tracked``) as failed with ``reason``."""
    for config, run_id in job.runs:
        if run_id not in tracked.ended:
            record_failure(tracked, config, run_id, reason, started=run_id in tracked.started)


def record_failure(sink: RunSink, config: RunConfig, run_id: str, reason: str, *, started: bool) -> None:
    """End run ``run_id`` as failed with ``reason``, first starting it if it never started."""
    now = time.time()
    if not started:
        try:
            device = str(resolve_device(config.device))
        except InitlabError:
            device = config.device
        sink.start_run(start_record(config, run_id, device, now))
    sink.end_run(run_id, end_record("failed", now, reason))


def make_jobs(
    configs: Sequence[RunConfig],
    run_ids: Sequence[str],
    engine: str,
    *,
    download: bool = False,
    callbacks: Sequence[Callback] = (),
) -> list[Job]:
    """One job per run (engine ``loop``), or one per group of seeds of one config (engine ``vmap``;
    a group of one is trained by ``loop``, which is the same run and faster)."""
    if engine not in ENGINES:
        raise one_of("engine", engine, ENGINES)
    runs = list(zip(configs, run_ids, strict=True))
    if engine == LOOP:
        return [Job(LOOP, (c,), (r,), download, tuple(callbacks)) for c, r in runs]
    if callbacks:
        raise ConfigError(f"engine {VMAP!r} runs no callbacks; use engine {LOOP!r}")
    groups: dict[str, list[tuple[RunConfig, str]]] = {}
    for config, run_id in runs:
        groups.setdefault(batch_key(config), []).append((config, run_id))
    jobs = []
    for group in groups.values():
        group_configs = tuple(c for c, _ in group)
        if len(group) > 1:
            check_batch(group_configs)
            _check_model(group_configs[0])
        jobs.append(
            Job(VMAP if len(group) > 1 else LOOP, group_configs, tuple(r for _, r in group), download)
        )
    return jobs


def _check_model(config: RunConfig) -> None:
    """Refuse, before anything runs, a model the batched engine cannot train (BatchNorm, dropout).

    Data or model errors are left to the runs, which record them as failures.
    """
    try:
        model = _sample_model(config)
    except InitlabError:
        return
    if model is not None:
        check_batchable(model, config.model)


def check_user_models(configs: Sequence[RunConfig]) -> None:
    """Build each distinct user's model (import path or registered by user code) of ``configs`` once,
    so that a factory that raises stops the sweep before any run starts, with its error.

    Data errors are left to the runs, which record them as failures.
    """
    seen: set[str] = set()
    for config in configs:
        key = config_key(
            {f: getattr(config, f) for f in ("dataset", "dataset_params", "model", "model_params")}
        )
        if key not in seen and is_user_model(config.model):
            seen.add(key)
            _sample_model(config)


def _sample_model(config: RunConfig) -> torch.nn.Module | None:
    """``config``'s model built for its dataset's shapes; None when the dataset cannot be loaded."""
    try:
        data = load_dataset(config.dataset, "test", **config.dataset_params)
    except InitlabError:
        return None
    return build_model(
        config.model, input_shape=data.input_shape, num_classes=data.num_classes, **config.model_params
    )
