"""The training loop: ``train(config) -> RunResult``.

Data live as tensors on the run's device; each epoch's batches are drawn by the run's task from its
shuffle generator as index slices (no DataLoader in the hot path). The run evaluates on val and test
before training, at the end of each epoch, every ``eval_every`` steps if set, and where ``max_steps``
stops it; each evaluation records the training metrics of the steps since the one before. Every
generator derives from ``config.seed``, so the same config and seed give bitwise identical numbers
on the CPU. A loss that turns NaN or inf ends the run as ``diverged`` at that step; any other
exception ends it as ``failed`` with its traceback, and is re-raised.
"""

from __future__ import annotations

import functools
import math
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

import initlab
from initlab.callbacks import Callback, Events, TrainContext
from initlab.config import RunConfig
from initlab.probes import build_probes
from initlab.records import MemorySink, MetricRow, ProbeRow, RunEnd, RunSink, RunStart, RunStatus
from initlab.step import train_step
from initlab.train.augment import crop_flip
from initlab.train.optim import total_steps
from initlab.train.seeding import generator
from initlab.train.setup import RunData, RunSetup, prepare_run


@dataclass
class RunResult:
    """The outcome of one run: its status, final metrics, per-epoch history and the trained model."""

    id: str
    config: RunConfig
    status: RunStatus
    summary: dict[str, float]
    history: list[dict[str, float]]
    seconds: float
    model: nn.Module
    reason: str | None = None
    diverged_step: int | None = None
    probes: dict[str, Callback] = field(default_factory=dict)
    """The probes named in the config, by name, with their rows in memory (``probe.rows``)."""

    @property
    def test_accuracy(self) -> float:
        return self.summary.get("test_accuracy", math.nan)


@dataclass
class _EpochTotals:
    """Device-side running sums over the steps since the last evaluation (read once, at the next): the
    loss and the task's per-batch sums, weighted by batch size, and the target elements predicted."""

    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    count: int = 0
    targets: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, loss: torch.Tensor, sums: dict[str, torch.Tensor], targets: torch.Tensor) -> None:
        size = len(targets)
        for name, value in {"loss": loss * size, **sums}.items():
            self.sums[name] = self.sums[name] + value if name in self.sums else value
        self.count += size
        self.targets += targets.numel()

    def means(self) -> dict[str, float]:
        return {name: value.item() / self.count for name, value in self.sums.items()}


def train(
    config: RunConfig,
    *,
    model: nn.Module | None = None,
    sink: RunSink | None = None,
    callbacks: Sequence[Callback] = (),
    run_id: str | None = None,
    splits: RunData | None = None,
    setup: RunSetup | None = None,
) -> RunResult:
    """Train ``config``'s model on its dataset; report every record to ``sink``.

    ``model`` is a module built by the caller, trained (in place) instead of the config's registered
    model; the config's init scheme is applied to it first, and the recorded config names its class
    (see :func:`~initlab.train.prepare_run`). ``splits`` may be passed to reuse loaded data across
    runs; ``setup`` is the run already prepared from ``config`` (:func:`~initlab.train.prepare_run`),
    for a caller that checks it before showing anything. The probes named in ``config.probes`` run as
    callbacks after ``callbacks``. Bad input (unknown names, missing data, params a task refuses)
    raises before the run starts, so it leaves no run behind in the sink.
    """
    setup = setup if setup is not None else prepare_run(config, model=model, splits=splits)
    probes = build_probes(setup.config.probes)
    callbacks = [*callbacks, *probes]
    sink = sink if sink is not None else MemorySink()
    run_id = run_id or uuid.uuid4().hex[:12]
    device = setup.device

    started = time.time()
    sink.start_run(start_record(setup.config, run_id, str(device), started))
    try:
        with setup.dropout_stream():
            loop = _Loop(setup, run_id, sink, callbacks)
            status, diverged_step = loop.run()
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        sink.end_run(run_id, end_record("failed", started, f"{reason}\n{traceback.format_exc()}"))
        raise
    reason = f"loss became non-finite at step {diverged_step}" if status == "diverged" else None
    end = end_record(status, started, reason, diverged_step, loop.summary())
    sink.end_run(run_id, end)
    loop.events.fire("on_train_end", end)
    return RunResult(
        id=run_id,
        config=setup.config,
        status=status,
        summary=end.summary,
        history=loop.history,
        seconds=end.seconds,
        model=loop.model,
        reason=reason,
        diverged_step=diverged_step,
        probes={probe.name: probe for probe in probes},
    )


def start_record(config: RunConfig, run_id: str, device: str, started: float | None = None) -> RunStart:
    """The ``RunStart`` record of ``config``'s run ``run_id`` on ``device`` (started now by default)."""
    return RunStart(
        id=run_id,
        config=config.model_dump(mode="json"),
        config_hash=config.key(),
        seed=config.seed,
        device=device,
        started_at=time.time() if started is None else started,
        initlab_version=initlab.__version__,
        torch_version=torch.__version__,
    )


def end_record(
    status: RunStatus,
    started: float,
    reason: str | None,
    diverged_step: int | None = None,
    summary: dict[str, float] | None = None,
) -> RunEnd:
    """The ``RunEnd`` record of a run that started at ``started`` (Unix time) and ends now."""
    now = time.time()
    return RunEnd(status, now, now - started, reason, diverged_step, summary or {})


class _Loop:
    """One run's mutable state; ``run`` trains and returns (status, diverged step)."""

    def __init__(self, setup: RunSetup, run_id: str, sink: RunSink, callbacks: Sequence[Callback]):
        self.config, self.run_id, self.sink = setup.config, run_id, sink
        self.model, self.train_set, self.val_set, self.test_set = setup.place()
        self.steps_per_epoch, self.task = setup.steps_per_epoch, setup.task
        self.optimizer, self.scheduler = setup.optimizer(self.model.parameters())
        trained = torch.compile(self.model) if self.config.compile else self.model
        self.forward = functools.partial(self.task.forward, trained)
        self.shuffle = generator(self.config.seed, "shuffle")
        self.augment = generator(self.config.seed, "augment") if self.config.augment == "crop-flip" else None
        self.history: list[dict[str, float]] = []
        self.pending: list[MetricRow] = []
        self.ctx = TrainContext(
            run_id, self.config, self.model, self.optimizer, setup.device, self.steps_per_epoch, self._emit
        )
        self.events = Events(callbacks, self.ctx)

    def _emit(self, probe: str, rows: Sequence[ProbeRow]) -> None:
        self.sink.write_probe_rows(self.run_id, probe, rows)

    def run(self) -> tuple[RunStatus, int | None]:
        self._evaluate(epoch=0, step=0, train_metrics={})
        self.events.fire("on_train_start")
        step, last_step = 0, total_steps(self.config, self.steps_per_epoch)
        for epoch in range(1, self.config.epochs + 1):
            self.ctx.epoch = epoch
            step, diverged_step = self._train_epoch(step, last_step)
            if diverged_step is not None:
                self._flush()
                return "diverged", diverged_step
            if step == last_step:
                break
        self._flush()
        return "finished", None

    def _train_epoch(self, step: int, last_step: int) -> tuple[int, int | None]:
        """Run one epoch of steps (fewer if ``last_step`` comes first), evaluating at its end and every
        ``eval_every`` steps; return the step reached and the first non-finite step, if any."""
        cfg, task = self.config, self.task
        batches = task.batches(self.train_set, cfg.batch_size, self.shuffle)
        totals, window = _EpochTotals(), []
        self.model.train()
        for i, (xb, yb) in enumerate(batches):
            if self.augment is not None:
                xb = crop_flip(xb, self.augment)
            outputs, loss = train_step(
                self.forward, xb, yb, task.loss, self.optimizer, self.scheduler, self.events, step
            )
            totals.add(loss, task.batch_sums(outputs, yb), yb)
            window.append(loss)
            step += 1
            epoch_end = i == len(batches) - 1 or step == last_step
            if step % cfg.log_every == 0 or epoch_end:
                bad = self._check_window(window, step)
                if bad is not None:
                    return step, bad
            if epoch_end or (cfg.eval_every is not None and step % cfg.eval_every == 0):
                if not self._evaluate(self.ctx.epoch, step, self._train_metrics(totals), epoch_end):
                    return step, step - 1
                totals = _EpochTotals()
            if step == last_step:
                break
        return step, None

    def _train_metrics(self, totals: _EpochTotals) -> dict[str, float]:
        """The training metrics of the steps in ``totals``: mean loss and task sums, seconds, rates."""
        means = totals.means()  # reads the device sums, so the time below includes the steps
        seconds = time.perf_counter() - totals.started
        return means | {"seconds": seconds} | self.task.throughput(totals.targets, seconds)

    def _check_window(self, window: list[torch.Tensor], step: int) -> int | None:
        """Record the window's mean loss; return the first non-finite step in it, if any."""
        losses = torch.stack(window)
        window.clear()
        finite = torch.isfinite(losses)
        if not bool(finite.all()):
            return step - len(losses) + int((~finite).nonzero()[0])
        self.pending.append(MetricRow(self.ctx.epoch, step, "train", "batch_loss", losses.mean().item()))
        return None

    def _evaluate(
        self, epoch: int, step: int, train_metrics: dict[str, float], epoch_end: bool = True
    ) -> bool:
        """Evaluate on val and test, record the metrics at ``step`` (callbacks hear ``on_epoch_end`` at
        an epoch's end only); False if a loss is non-finite."""
        metrics = {f"train_{k}": v for k, v in train_metrics.items()}
        for split, data in (("val", self.val_set), ("test", self.test_set)):
            if len(data):
                values = self.task.evaluate(self.model, data, self.config.eval_batch_size)
                metrics |= {f"{split}_{name}": value for name, value in values.items()}
        self.pending.extend(epoch_rows(epoch, step, metrics))
        self.history.append({"epoch": epoch, "step": step, **metrics})
        self._flush()
        if epoch_end:
            self.ctx.epoch_metrics = metrics
            self.events.fire("on_epoch_end")
        return losses_finite(metrics)

    def _flush(self) -> None:
        if self.pending:
            self.sink.write_metrics(self.run_id, self.pending)
            self.pending = []

    def summary(self) -> dict[str, float]:
        return run_summary(self.history)


def epoch_rows(epoch: int, step: int, metrics: dict[str, float]) -> list[MetricRow]:
    """One row per epoch metric: ``{"val_loss": 0.3}`` -> ``MetricRow(epoch, step, "val", "loss", 0.3)``."""
    return [MetricRow(epoch, step, *key.split("_", 1), value) for key, value in metrics.items()]


def losses_finite(metrics: dict[str, float]) -> bool:
    """Whether every loss among an epoch's metrics is finite (else the run has diverged)."""
    return all(math.isfinite(v) for k, v in metrics.items() if k.endswith("loss"))


def run_summary(history: list[dict[str, float]]) -> dict[str, float]:
    """The last epoch's metrics plus the number of epochs completed."""
    last = history[-1] if history else {}
    return {k: v for k, v in last.items() if k not in ("epoch", "step")} | {
        "epochs": float(last.get("epoch", 0))
    }
