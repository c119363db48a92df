"""The training loop: ``train(config) -> RunResult``.

Data live as tensors on the run's device; each epoch draws a fresh permutation from the run's
shuffle generator and batches are index slices of it (no DataLoader in the hot path). Every
generator derives from ``config.seed``, so the same config and seed give bitwise identical numbers
on the CPU. A loss that turns NaN or inf ends the run as ``diverged`` at that step; any other
exception ends it as ``failed`` with its traceback, and is re-raised.
"""

from __future__ import annotations

import math
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

import initlab
from initlab.config import RunConfig
from initlab.data import Dataset, default_val_size, load_dataset
from initlab.data.dataset import split_indices
from initlab.models import build_model
from initlab.records import MemorySink, MetricRow, ProbeRow, RunEnd, RunSink, RunStart, RunStatus
from initlab.schemes import apply_init, takes_data
from initlab.train.augment import channel_stats, crop_flip, standardize
from initlab.train.callbacks import EVENTS, Callback, TrainContext, dispatch
from initlab.train.device import resolve_device, uses_channels_last
from initlab.train.optim import make_optimizer, make_scheduler
from initlab.train.seeding import derive_seed, generator


@dataclass(frozen=True)
class Splits:
    """The run's train, validation (possibly empty) and test sets."""

    train: Dataset
    val: Dataset
    test: Dataset


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
    """Device-side running sums over one epoch (read once at its end)."""

    loss: torch.Tensor
    correct: torch.Tensor
    count: int = 0
    steps: int = 0
    window: list[torch.Tensor] = field(default_factory=list)


def load_splits(config: RunConfig, *, download: bool = False) -> Splits:
    """The run's data: the training set minus a seeded validation split, and the test set (on CPU).

    ``download`` allows fetching the dataset's official files when no local source has them.
    """
    full = load_dataset(config.dataset, "train", download=download, **config.dataset_params)
    test = load_dataset(config.dataset, "test", download=download, **config.dataset_params)
    train_idx, val_idx = run_split_indices(config, full)
    splits = Splits(full.subset(train_idx, "train"), full.subset(val_idx, "val"), test)
    if config.normalize:
        mean, std = channel_stats(splits.train)
        splits = Splits(*(standardize(d, mean, std) for d in (splits.train, splits.val, splits.test)))
    return splits


def run_split_indices(config: RunConfig, full: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices into ``full`` (the dataset's training split) of the run's train and validation samples.

    The validation split is drawn with the run's ``split`` generator; ``train_size`` keeps the first
    samples of the rest.
    """
    val_size = config.val_size
    if val_size is None:
        val_size = default_val_size(config.dataset, **config.dataset_params)
    seed = derive_seed(config.seed, "split")
    return split_indices(len(full), val_size, seed, full.name, train_size=config.train_size)


def build_initialized_model(
    config: RunConfig, input_shape: Sequence[int], num_classes: int, data: torch.Tensor | None = None
) -> nn.Module:
    """The config's model with its init scheme applied from the run's init generator (on CPU).

    ``data`` is the batch a data-dependent scheme (LSUV) initialises on; other schemes take none.
    """
    model = build_model(config.model, input_shape=input_shape, num_classes=num_classes, **config.model_params)
    extra = {"data": data} if data is not None else {}
    return apply_init(model, config.init, generator(config.seed, "init"), **config.init_params, **extra)


def init_batch(config: RunConfig, train: Dataset) -> torch.Tensor | None:
    """For a data-dependent scheme, ``batch_size`` training inputs drawn with the run's seed; else None."""
    if not takes_data(config.init):
        return None
    perm = torch.randperm(len(train), generator=generator(config.seed, "init-data"))
    return train.x[perm[: config.batch_size]]


@torch.inference_mode()
def evaluate(model: nn.Module, data: Dataset, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``data``, in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=data.x.device)
    correct = torch.zeros((), device=data.x.device, dtype=torch.int64)
    for start in range(0, len(data), batch_size):
        x, y = data.x[start : start + batch_size], data.y[start : start + batch_size]
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    return loss_sum.item() / len(data), correct.item() / len(data)


def train(
    config: RunConfig,
    *,
    sink: RunSink | None = None,
    callbacks: Sequence[Callback] = (),
    run_id: str | None = None,
    splits: Splits | None = None,
) -> RunResult:
    """Train ``config``'s model on its dataset; report every record to ``sink``.

    ``splits`` may be passed to reuse loaded data across runs. The probes named in
    ``config.probes`` run as callbacks after ``callbacks``. Bad input (unknown names, missing data)
    raises before the run starts, so it leaves no run behind in the sink.
    """
    from initlab.probes import build_probes  # probes build on train's callbacks: import at call time

    probes = build_probes(config.probes)
    callbacks = [*callbacks, *probes]
    sink = sink if sink is not None else MemorySink()
    run_id = run_id or uuid.uuid4().hex[:12]
    device = resolve_device(config.device)
    splits = splits or load_splits(config)
    model = build_initialized_model(
        config, splits.train.input_shape, splits.train.num_classes, init_batch(config, splits.train)
    )

    started = time.time()
    sink.start_run(start_record(config, run_id, str(device), started))
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(derive_seed(config.seed, "dropout"))
            loop = _Loop(config, run_id, model, splits, device, sink, callbacks)
            status, diverged_step = loop.run()
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        sink.end_run(run_id, end_record("failed", started, f"{reason}\n{traceback.format_exc()}"))
        raise
    reason = f"loss became non-finite at step {diverged_step}" if status == "diverged" else None
    end = end_record(status, started, reason, diverged_step, loop.summary())
    sink.end_run(run_id, end)
    for hook in dispatch(callbacks, "on_train_end"):
        hook(loop.ctx, end)
    return RunResult(
        id=run_id,
        config=config,
        status=status,
        summary=end.summary,
        history=loop.history,
        seconds=end.seconds,
        model=model,
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

    def __init__(
        self,
        config: RunConfig,
        run_id: str,
        model: nn.Module,
        splits: Splits,
        device: torch.device,
        sink: RunSink,
        callbacks: Sequence[Callback],
    ):
        self.config, self.run_id, self.sink = config, run_id, sink
        fmt = torch.channels_last if uses_channels_last(model) else torch.contiguous_format
        self.model = model.to(device=device, memory_format=fmt)
        self.train_set, self.val_set, self.test_set = (
            replace(d, x=d.x.to(device, memory_format=fmt), y=d.y.to(device))
            for d in (splits.train, splits.val, splits.test)
        )
        self.steps_per_epoch = math.ceil(len(self.train_set) / config.batch_size)
        self.optimizer = make_optimizer(config, self.model.parameters())
        self.scheduler = make_scheduler(config, self.optimizer, self.steps_per_epoch)
        self.shuffle = generator(config.seed, "shuffle")
        self.augment = generator(config.seed, "augment") if config.augment == "crop-flip" else None
        self.history: list[dict[str, float]] = []
        self.pending: list[MetricRow] = []
        self.ctx = TrainContext(
            run_id, config, self.model, self.optimizer, device, self.steps_per_epoch, self._emit
        )
        self.hooks = {event: dispatch(callbacks, event) for event in EVENTS}

    def _emit(self, probe: str, rows: Sequence[ProbeRow]) -> None:
        self.sink.write_probe_rows(self.run_id, probe, rows)

    def run(self) -> tuple[RunStatus, int | None]:
        self._evaluate(epoch=0, step=0, train_metrics={})
        for hook in self.hooks["on_train_start"]:
            hook(self.ctx)
        step = 0
        for epoch in range(1, self.config.epochs + 1):
            self.ctx.epoch = epoch
            started = time.perf_counter()
            totals, diverged_step = self._train_epoch(step)
            step += totals.steps
            if diverged_step is not None:
                self._flush()
                return "diverged", diverged_step
            train_metrics = {
                "loss": totals.loss.item() / totals.count,
                "accuracy": totals.correct.item() / totals.count,
                "seconds": time.perf_counter() - started,
            }
            if not self._evaluate(epoch, step, train_metrics):
                self._flush()
                return "diverged", step - 1
        self._flush()
        return "finished", None

    def _train_epoch(self, first_step: int) -> tuple[_EpochTotals, int | None]:
        """Run one epoch of steps; return its totals and the first non-finite step, if any."""
        cfg, model, opt = self.config, self.model, self.optimizer
        x, y = self.train_set.x, self.train_set.y
        perm = torch.randperm(len(y), generator=self.shuffle).to(y.device)
        totals = _EpochTotals(
            torch.zeros((), device=y.device), torch.zeros((), device=y.device, dtype=torch.int64)
        )
        model.train()
        step = first_step
        for start in range(0, len(y), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            xb, yb = x[idx], y[idx]
            if self.augment is not None:
                xb = crop_flip(xb, self.augment)
            self.ctx.step, self.ctx.inputs, self.ctx.targets = step, xb, yb
            for hook in self.hooks["on_step_start"]:
                hook(self.ctx)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            self.ctx.loss = loss
            for hook in self.hooks["on_after_backward"]:
                hook(self.ctx)
            opt.step()
            self.scheduler.step()
            for hook in self.hooks["on_step_end"]:
                hook(self.ctx)
            loss = loss.detach()
            totals.loss += loss * len(yb)
            totals.correct += (logits.detach().argmax(1) == yb).sum()
            totals.count += len(yb)
            totals.window.append(loss)
            step += 1
            totals.steps += 1
            if step % cfg.log_every == 0 or start + cfg.batch_size >= len(y):
                bad = self._check_window(totals.window, step)
                if bad is not None:
                    return totals, bad
        return totals, None

    def _check_window(self, window: list[torch.Tensor], step: int) -> int | None:
        """Record the window's mean loss; return the first non-finite step in it, if any."""
        losses = torch.stack(window)
        window.clear()
        finite = torch.isfinite(losses)
        if not bool(finite.all()):
            return step - len(losses) + int((~finite).nonzero()[0])
        self.pending.append(MetricRow(self.ctx.epoch, step, "train", "batch_loss", losses.mean().item()))
        return None

    def _evaluate(self, epoch: int, step: int, train_metrics: dict[str, float]) -> bool:
        """Evaluate on val and test, record the epoch's metrics; False if a loss is non-finite."""
        metrics = {f"train_{k}": v for k, v in train_metrics.items()}
        for split, data in (("val", self.val_set), ("test", self.test_set)):
            if len(data):
                loss, acc = evaluate(self.model, data, self.config.eval_batch_size)
                metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = loss, acc
        self.pending.extend(epoch_rows(epoch, step, metrics))
        self.history.append({"epoch": epoch, "step": step, **metrics})
        self._flush()
        self.ctx.epoch_metrics = metrics
        for hook in self.hooks["on_epoch_end"]:
            hook(self.ctx)
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
