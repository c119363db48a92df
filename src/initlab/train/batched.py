"""The batched engine: S seeds of one run config trained at once with ``torch.func``.

Each seed is set up exactly as a separate run is (:func:`~initlab.train.prepare_run`): its own
validation split, its own standardization statistics when the config normalizes, its own model
initialized from its own init generator (a data-dependent scheme such as LSUV on a batch of its own
training inputs). The S models are then stacked (``torch.func.stack_module_state``) into parameters
with a leading seed dimension; one forward pass ``vmap(functional_call)`` runs all S models on their
own batches (as in PyTorch's model-ensembling tutorial), and one step function
(:func:`initlab.step.train_step`) takes each step, as in the loop. Each seed keeps its shuffling
generator, its divergence check and its records, written to the sink under its own run id with its
own config and key, exactly as a separate run writes them: a batched run and a loop run of one config
compute the same thing, so they are the same run.

The gradient of Σ_s loss_s with respect to the stacked parameters is, slice by slice, each seed's own
gradient (the seeds share no parameters). One optimizer over the stacked tensors then equals S
optimizers: SGD (momentum, Nesterov, weight decay), Adam and AdamW update each element from that
element's gradient and state alone, and the learning-rate schedule is the same for every seed because
the configs differ only in their seed. The metrics match separate runs up to float rounding (batched
matrix products sum in another order), except the wall-clock ones: each seed's ``train_seconds``
and run time are those of the whole batch. What the engine cannot match it refuses, naming it:
BatchNorm (statistics over a batch, running buffers), active dropout and ``augment`` (per-seed random
streams inside a step), and probes (they watch one model)."""

from __future__ import annotations

import copy
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state

from initlab.config import RunConfig, config_key
from initlab.errors import ConfigError
from initlab.records import MemorySink, MetricRow, RunEnd, RunSink, RunStatus
from initlab.step import train_step
from initlab.tasks import Classify, cross_entropy
from initlab.train.loop import RunResult, end_record, epoch_rows, losses_finite, run_summary, start_record
from initlab.train.resolve import resolve_config
from initlab.train.seeding import generator
from initlab.train.setup import RunSetup, load_datasets, load_splits, prepare_run

ENGINE = "vmap"


def batch_key(config: RunConfig) -> str:
    """What seeds of one batch share: the config's key with the seed left out (placement kept)."""
    return config_key(config.model_dump(mode="json", exclude={"seed"}))


def unbatchable_layers(model: nn.Module) -> list[str]:
    """Names of the layers the batched engine cannot train: BatchNorm, and dropout with p > 0."""
    return [
        name or type(module).__name__
        for name, module in model.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
        or (isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0)
    ]


def check_batchable(model: nn.Module, model_name: str) -> None:
    """Refuse a model with BatchNorm or active dropout, naming its layers."""
    bad = unbatchable_layers(model)
    if bad:
        shown = ", ".join(bad[:4]) + (f" and {len(bad) - 4} more" if len(bad) > 4 else "")
        raise ConfigError(
            f"engine {ENGINE!r} cannot train model {model_name!r}: it has BatchNorm or dropout layers "
            f"({shown}), whose batch statistics or random masks differ per seed; use engine 'loop'"
        )


def check_batch(configs: Sequence[RunConfig]) -> None:
    """The configs must differ in their seed only, with distinct seeds, and attach no probes."""
    first = configs[0]
    reference = first.model_dump(mode="json", exclude={"seed"})
    for config in configs[1:]:
        other = config.model_dump(mode="json", exclude={"seed"})
        differing = [k for k in reference if reference[k] != other[k]]
        if differing:
            raise ConfigError(
                f"engine {ENGINE!r} batches seeds of one config; these configs also differ in "
                f"{', '.join(differing)}"
            )
    seeds = [c.seed for c in configs]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"engine {ENGINE!r} needs distinct seeds; got {seeds}")
    if first.augment != "none":
        raise ConfigError(
            f"engine {ENGINE!r} does not augment (the config asks for augment={first.augment!r}); "
            "use engine 'loop'"
        )
    if first.compile:
        raise ConfigError(
            f"engine {ENGINE!r} does not compile (the config asks for compile=true); use engine 'loop'"
        )
    if first.probes:
        raise ConfigError(
            f"engine {ENGINE!r} attaches no probes (the config asks for {', '.join(first.probes)}); "
            "use engine 'loop'"
        )


def train_batched(
    configs: Sequence[RunConfig],
    *,
    sink: RunSink | None = None,
    run_ids: Sequence[str] | None = None,
    download: bool = False,
) -> list[RunResult]:
    """Train ``configs`` (one config, several seeds) together; report each seed's records to ``sink``.

    Returns one :class:`RunResult` per config, in order. Bad input raises before any run starts. An
    exception during training ends every seed still running as ``failed`` (with the traceback) and is
    re-raised; a seed whose loss turns non-finite ends as ``diverged`` while the others go on.
    """
    if not configs:
        return []
    configs = [resolve_config(c) for c in configs]
    check_batch(configs)
    sink = sink if sink is not None else MemorySink()
    run_ids = list(run_ids) if run_ids is not None else [uuid.uuid4().hex[:12] for _ in configs]
    if len(run_ids) != len(configs):
        raise ConfigError(f"got {len(run_ids)} run ids for {len(configs)} configs")
    first = configs[0]
    datasets = load_datasets(first, download=download)  # loaded once, split per seed
    setups = [prepare_run(c, splits=load_splits(c, datasets=datasets)) for c in configs]
    check_batchable(setups[0].model, first.model)
    if not isinstance(setups[0].task, Classify):
        raise ConfigError(
            f"engine {ENGINE!r} trains classifiers only; this run's task is "
            f"{setups[0].task.name!r}: use engine 'loop'"
        )

    started = time.time()
    for setup, run_id in zip(setups, run_ids, strict=True):
        sink.start_run(start_record(setup.config, run_id, str(setup.device), started))
    loop = _BatchedLoop(setups, run_ids, sink, started)
    try:
        loop.run()
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        loop.end_all("failed", f"{reason}\n{traceback.format_exc()}")
        raise
    loop.end_all("finished", None)
    return loop.results()


@dataclass
class _Seed:
    """One seed's records and state inside a batch."""

    config: RunConfig
    run_id: str
    history: list[dict[str, float]] = field(default_factory=list)
    pending: list[MetricRow] = field(default_factory=list)
    end: RunEnd | None = None


class _BatchedLoop:
    """The S seeds' shared tensors and per-seed records; ``run`` trains them all."""

    def __init__(self, setups: Sequence[RunSetup], run_ids: Sequence[str], sink: RunSink, started: float):
        first, device = setups[0], setups[0].device
        self.config, self.sink, self.started = first.config, sink, started
        self.models = [s.model for s in setups]
        self.seeds = [_Seed(s.config, r) for s, r in zip(setups, run_ids, strict=True)]
        params, buffers = stack_module_state(self.models)
        self.params = {k: v.detach().to(device).requires_grad_(v.requires_grad) for k, v in params.items()}
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        self.base = copy.deepcopy(self.models[0]).to("meta")
        full = first.splits.full
        self.x, self.y = full.x.to(device), full.y.to(device)
        self.train_idx = torch.stack([s.splits.train_idx for s in setups]).to(device)  # S×N_train
        self.val_idx = torch.stack([s.splits.val_idx for s in setups]).to(device)  # S×N_val
        self.test = first.splits.raw_test.to(device)
        self.stats = (
            None
            if first.splits.stats is None
            else tuple(torch.stack([s.splits.stats[i] for s in setups]).to(device) for i in (0, 1))
        )  # each S×1×C×1×1: every seed's own train-split mean and std
        self.steps_per_epoch = first.steps_per_epoch
        self.optimizer, self.scheduler = first.optimizer(self.params.values())
        self.shuffles = [generator(s.config.seed, "shuffle") for s in setups]
        self.forward = torch.vmap(self._forward, in_dims=(0, 0, 0))  # each seed its own batch
        self.forward_shared = torch.vmap(self._forward, in_dims=(0, 0, None))  # one batch for all

    def _forward(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def _stacked(self, x: torch.Tensor) -> torch.Tensor:
        """All seeds' logits (S×B×classes) on their own inputs ``x`` (S×B×…)."""
        return self.forward(self.params, self.buffers, x)

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs as each seed sees them: standardized with the seed's own statistics when the
        run normalizes (S×B×… for S×B×… or shared B×… inputs), else unchanged."""
        if self.stats is None:
            return x
        mean, std = self.stats
        return (x - mean) / std

    @property
    def active(self) -> list[int]:
        return [s for s, seed in enumerate(self.seeds) if seed.end is None]

    def run(self) -> None:
        self._evaluate(epoch=0, step=0, train_metrics=[{} for _ in self.seeds])
        step = 0
        for epoch in range(1, self.config.epochs + 1):
            if not self.active:
                return
            started = time.perf_counter()
            loss_sum, correct, count = self._train_epoch(epoch, step)
            step += self.steps_per_epoch
            seconds = time.perf_counter() - started
            train_metrics = [
                {"loss": loss_sum[s] / count, "accuracy": correct[s] / count, "seconds": seconds}
                for s in range(len(self.seeds))
            ]
            self._evaluate(epoch, step, train_metrics)

    def _train_epoch(self, epoch: int, first_step: int) -> tuple[list[float], list[int], int]:
        """One epoch of steps for every seed; returns per-seed loss sums and correct counts, and N."""
        cfg, n = self.config, self.train_idx.shape[1]
        perms = torch.stack([torch.randperm(n, generator=g) for g in self.shuffles]).to(self.x.device)
        order = self.train_idx.gather(1, perms)  # S×N indices into the full training set
        loss_sum = torch.zeros(len(self.seeds), device=self.x.device)
        correct = torch.zeros(len(self.seeds), device=self.x.device, dtype=torch.int64)
        window: list[torch.Tensor] = []
        self.base.train()
        step = first_step
        for start in range(0, n, cfg.batch_size):
            idx = order[:, start : start + cfg.batch_size]
            xb, yb = self._inputs(self.x[idx]), self.y[idx]
            logits, losses = train_step(self._stacked, xb, yb, cross_entropy, self.optimizer, self.scheduler)
            loss_sum += losses * yb.shape[1]  # losses: S, each seed's mean loss, as in a separate run
            correct += (logits.argmax(-1) == yb).sum(1)
            window.append(losses)
            step += 1
            if step % cfg.log_every == 0 or start + cfg.batch_size >= n:
                self._check_window(epoch, step, window)
                if not self.active:
                    break
        return loss_sum.tolist(), correct.tolist(), n

    def _check_window(self, epoch: int, step: int, window: list[torch.Tensor]) -> None:
        """Record each seed's mean loss over the window; end the seeds whose loss became non-finite."""
        losses = torch.stack(window)  # W×S
        window.clear()
        finite = torch.isfinite(losses).all(0).tolist()
        means = losses.mean(0).tolist()
        for s in self.active:
            seed = self.seeds[s]
            if finite[s]:
                seed.pending.append(MetricRow(epoch, step, "train", "batch_loss", means[s]))
            else:
                bad = step - len(losses) + int((~torch.isfinite(losses[:, s])).nonzero()[0])
                self._diverge(s, bad)

    @torch.no_grad()
    def _evaluate(self, epoch: int, step: int, train_metrics: list[dict[str, float]]) -> None:
        """Evaluate the active seeds on their validation sets and on the test set; record the epoch."""
        metrics = [{f"train_{k}": v for k, v in m.items()} for m in train_metrics]
        self.base.eval()
        for split in ("val", "test"):
            for s, (loss, accuracy) in enumerate(self._eval(split)):
                metrics[s][f"{split}_loss"], metrics[s][f"{split}_accuracy"] = loss, accuracy
        self.base.train()
        for s in self.active:
            seed = self.seeds[s]
            seed.pending.extend(epoch_rows(epoch, step, metrics[s]))
            seed.history.append({"epoch": epoch, "step": step, **metrics[s]})
            self._flush(seed)
            if not losses_finite(metrics[s]):
                self._diverge(s, step - 1)

    def _eval(self, split: str) -> list[tuple[float, float]]:
        """Each seed's mean cross-entropy and accuracy on ``split``: its own validation samples, or
        the test set they share (empty when the split is)."""
        n = self.val_idx.shape[1] if split == "val" else len(self.test)
        if not n:
            return []
        S, size = len(self.seeds), self.config.eval_batch_size
        loss_sum = torch.zeros(S, device=self.x.device)
        correct = torch.zeros(S, device=self.x.device, dtype=torch.int64)
        for start in range(0, n, size):
            if split == "val":
                idx = self.val_idx[:, start : start + size]
                logits, y = self._stacked(self._inputs(self.x[idx])), self.y[idx]
            else:
                x = self._inputs(self.test.x[start : start + size])
                shared = self.stats is None  # without standardization every seed sees the same inputs
                logits = (self.forward_shared if shared else self.forward)(self.params, self.buffers, x)
                y = self.test.y[start : start + size].expand(S, -1)
            loss_sum += (
                F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).sum(1)
            )
            correct += (logits.argmax(-1) == y).sum(1)
        return [
            (loss / n, right / n) for loss, right in zip(loss_sum.tolist(), correct.tolist(), strict=True)
        ]

    def _flush(self, seed: _Seed) -> None:
        if seed.pending:
            self.sink.write_metrics(seed.run_id, seed.pending)
            seed.pending = []

    def _diverge(self, s: int, step: int) -> None:
        self._end_seed(s, "diverged", f"loss became non-finite at step {step}", step)

    def _end_seed(
        self, s: int, status: RunStatus, reason: str | None, diverged_step: int | None = None
    ) -> None:
        seed = self.seeds[s]
        self._flush(seed)
        summary = run_summary(seed.history) if status != "failed" else {}
        seed.end = end_record(status, self.started, reason, diverged_step, summary)
        self.sink.end_run(seed.run_id, seed.end)

    def end_all(self, status: RunStatus, reason: str | None) -> None:
        """End every seed still running with ``status``."""
        for s in self.active:
            self._end_seed(s, status, reason)

    def results(self) -> list[RunResult]:
        """One RunResult per seed, each holding its own trained model (on the run's device)."""
        results = []
        for s, (seed, model) in enumerate(zip(self.seeds, self.models, strict=True)):
            model.to(self.x.device)
            with torch.no_grad():
                for name, tensor in (*model.named_parameters(), *model.named_buffers()):
                    tensor.copy_((self.params | self.buffers)[name][s])
            assert seed.end is not None
            results.append(
                RunResult(
                    id=seed.run_id,
                    config=seed.config,
                    status=seed.end.status,
                    summary=seed.end.summary,
                    history=seed.history,
                    seconds=seed.end.seconds,
                    model=model,
                    reason=seed.end.reason,
                    diverged_step=seed.end.diverged_step,
                )
            )
        return results
